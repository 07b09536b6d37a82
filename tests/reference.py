"""The reference architecture's Service ports and NodePorts, written out by hand as an oracle for the tests
(the code under test reads lakehouse_sdk.stack.endpoints instead)."""

# (Service name, Service port) -> NodePort
REFERENCE_NODEPORTS = {
    ("minio", 9000): 30900,
    ("minio", 9001): 30901,
    ("postgres", 5432): 30432,
    ("hive-metastore", 9083): 30083,
    ("spark-master", 8080): 30082,
    ("spark-master", 7077): 30077,
    ("spark-worker", 8081): 30084,
    ("spark-connect", 15002): 30152,
    ("trino", 8080): 30081,
}
