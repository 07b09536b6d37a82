"""Kubernetes: manifests rendered from the stack configuration, and provisioning."""
