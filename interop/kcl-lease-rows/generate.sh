#!/usr/bin/env bash
# Regenerates vectors.json: lease-table items serialized by the real Java KCL
# (DynamoDBLeaseSerializer / DynamoDBMultiStreamLeaseSerializer, version in pom.xml), plus what
# the KCL reads back from each. The Rust test crates/kinesis-kcl-compat/tests/lease_kcl_vectors.rs
# parses the committed file; this script is only needed to refresh it.
# Needs: JDK 17+, Maven (resolves the KCL jar from Maven Central).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mvn -B -q -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$work/cp.txt"
cp="$(cat "$work/cp.txt")"
javac -d "$work/classes" -cp "$cp" "$here/src/main/java/GenerateLeaseRows.java"
java -cp "$work/classes:$cp" GenerateLeaseRows 2>/dev/null > "$work/vectors.json"
mv "$work/vectors.json" "$here/vectors.json"
echo "wrote $here/vectors.json"
