// `pnpm resilience:table`: writes the README's resilience table (between its markers) from the
// platform's dependency presets, the numbers the services build their policies from, formatted
// with the repo's prettier config. tests/docs checks the README against the same rendering.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { dependencyPresets, renderResilienceTable } from '@koban/platform';
import { replaceBetweenMarkers } from './readme-markers.js';

const readme = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../README.md');
const current = readFileSync(readme, 'utf8');
const replaced = replaceBetweenMarkers(current, 'resilience-table', renderResilienceTable(dependencyPresets));
const options = (await prettier.resolveConfig(readme)) ?? {};
const updated = await prettier.format(replaced, { ...options, filepath: readme });
if (updated === current) {
  console.log('README.md: the resilience table is up to date');
} else {
  writeFileSync(readme, updated);
  console.log('README.md: resilience table updated');
}
