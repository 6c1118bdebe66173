#!/usr/bin/env bash
# Regenerates strimzi-<version>/*.json: the CRDs Strimzi ships are generated from its published
# API classes, so this resolves io.strimzi:api and io.strimzi:crd-generator from Maven Central,
# runs Strimzi's own CrdGenerator with the arguments of its release build (api/pom.xml), and keeps
# the v1beta2 openAPIV3Schema of Kafka, KafkaNodePool and KafkaTopic. Needs java and mvn; the
# tests only read the JSON files, offline.
set -euo pipefail
version="${1:-0.45.0}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>koban.local</groupId><artifactId>strimzi-crds</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.strimzi</groupId><artifactId>api</artifactId><version>${version}</version></dependency>
    <dependency><groupId>io.strimzi</groupId><artifactId>crd-generator</artifactId><version>${version}</version></dependency>
  </dependencies>
</project>
POM
mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DoutputDirectory="$work/lib"
classpath="$(find "$work/lib" -name '*.jar' | sort | tr '\n' ':')"
generate() {
  java -cp "$classpath" io.strimzi.crdgenerator.CrdGenerator --label app:strimzi \
    --label strimzi.io/crd-install:true --target-kube 1.16+ --crd-api-version v1 \
    --api-versions "$1" --storage-version v1beta2 --yaml "$2" 2>/dev/null
}
generate v1beta2 "io.strimzi.api.kafka.model.kafka.Kafka=$work/kafka.yaml"
generate v1beta2 "io.strimzi.api.kafka.model.nodepool.KafkaNodePool=$work/kafkanodepool.yaml"
generate v1alpha1,v1beta1,v1beta2 "io.strimzi.api.kafka.model.topic.KafkaTopic=$work/kafkatopic.yaml"

out="$here/strimzi-$version"
mkdir -p "$out"
for kind in kafka kafkanodepool kafkatopic; do
  node --import tsx "$here/extract-crd-schema.ts" "$work/$kind.yaml" v1beta2 >"$out/$kind.json"
done
echo "wrote $out"
