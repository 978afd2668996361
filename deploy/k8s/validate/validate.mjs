// Validates custom resources against the schemas generated from their CRDs (kubernetes-models packages:
// Strimzi 0.49/1.0 CRDs, Prometheus Operator CRDs). Input on stdin: a JSON array of {"file", "doc"}.
// Prints one line per problem; exits 1 on any problem or a kind it has no schema for.
import { readFileSync } from "node:fs";

const GROUPS = {
  "kafka.strimzi.io": "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator/monitoring.coreos.com",
};

const items = JSON.parse(readFileSync(0, "utf8"));
let problems = 0;
for (const { file, doc } of items) {
  const [group, version] = doc.apiVersion.split("/");
  const where = `${file}: ${doc.kind}/${doc.metadata?.name}`;
  if (!GROUPS[group]) {
    console.log(`${where}: no schema for ${doc.apiVersion}`);
    problems++;
    continue;
  }
  const models = await import(`${GROUPS[group]}/${version}/index`);
  const Model = models[doc.kind];
  if (!Model) {
    console.log(`${where}: no schema for kind ${doc.kind} in ${doc.apiVersion}`);
    problems++;
    continue;
  }
  try {
    new Model(doc).validate();
    console.log(`${where}: valid`);
  } catch (error) {
    console.log(`${where}: ${error.message}`);
    problems++;
  }
}
process.exit(problems ? 1 : 0);
