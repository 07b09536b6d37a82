"""One module per client: what each factory builds from the settings and an endpoint."""
