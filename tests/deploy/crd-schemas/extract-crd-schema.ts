// Prints the openAPIV3Schema of one version of a CustomResourceDefinition YAML as JSON, without
// its `description` texts (they do not take part in validation): how the Strimzi schemas here
// are made from the CRDs that fetch-strimzi.sh generates. Usage: extract-crd-schema.ts <crd.yaml> <version>
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

interface Crd {
  spec: { versions: { name: string; schema: { openAPIV3Schema: unknown } }[] };
}

const [file, version] = process.argv.slice(2);
if (!file || !version) throw new Error('usage: extract-crd-schema.ts <crd.yaml> <version>');
const crd = parse(readFileSync(file, 'utf8')) as Crd;
const served = crd.spec.versions.find((v) => v.name === version);
if (!served) throw new Error(`${file} has no version ${version}`);

const withoutDescriptions = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(withoutDescriptions);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => key !== 'description')
      .map(([key, value]) => [key, withoutDescriptions(value)]),
  );
};
// One line: a vendored file, read by the tests, never edited by hand (.prettierignore).
process.stdout.write(`${JSON.stringify(withoutDescriptions(served.schema.openAPIV3Schema))}\n`);
