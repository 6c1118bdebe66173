// The README's generated sections match the code they document.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { dependencyPresets, renderResilienceTable } from '@koban/platform';
import {
  normalizeMarkdown,
  replaceBetweenMarkers,
  sectionBetweenMarkers,
} from '../../scripts/readme-markers.js';

const readme = readFileSync(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../README.md'),
  'utf8',
);

describe('README', () => {
  it('shows the resilience table the dependency presets give (pnpm resilience:table)', () => {
    assert.equal(
      normalizeMarkdown(sectionBetweenMarkers(readme, 'resilience-table')),
      normalizeMarkdown(renderResilienceTable(dependencyPresets)),
    );
  });
});

describe('README markers', () => {
  it('replaces only the section between the markers', () => {
    const document = 'a\n<!-- t:start -->\nold\n<!-- t:end -->\nb';
    const replaced = replaceBetweenMarkers(document, 't', 'new');
    assert.equal(sectionBetweenMarkers(replaced, 't').trim(), 'new');
    assert.ok(replaced.startsWith('a\n') && replaced.endsWith('\nb'));
  });

  it('refuses a document without the markers', () => {
    assert.throws(() => sectionBetweenMarkers('no markers', 't'), /no <!-- t:start -->/);
  });

  it('ignores table padding and blank lines, not content', () => {
    assert.equal(
      normalizeMarkdown('| a  | b |\n| -- | --- |\n\n'),
      normalizeMarkdown('| a | b |\n| --- | --- |'),
    );
    assert.notEqual(normalizeMarkdown('| a | 300 ms |'), normalizeMarkdown('| a | 3 s |'));
  });
});
