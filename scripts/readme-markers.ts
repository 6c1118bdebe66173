/** The text between `<!-- name:start -->` and `<!-- name:end -->` (generated README sections). */
function markers(name: string) {
  return { start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` };
}

/** `document` with the text between the markers of `name` replaced by `content`. */
export function replaceBetweenMarkers(document: string, name: string, content: string): string {
  const { start, end } = markers(name);
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the document has no ${start} … ${end} section`);
  return `${document.slice(0, from + start.length)}\n\n${content}\n\n${document.slice(to)}`;
}

/** The text between the markers of `name`. */
export function sectionBetweenMarkers(document: string, name: string): string {
  const { start, end } = markers(name);
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the document has no ${start} … ${end} section`);
  return document.slice(from + start.length, to);
}

/**
 * Markdown with the formatter's choices taken out (blank lines, table cell padding, the length
 * of separator dashes), so generated text compares equal to its prettier-formatted copy.
 */
export function normalizeMarkdown(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) =>
      line.startsWith('|')
        ? line
            .split('|')
            .map((cell) => cell.trim().replace(/^-+$/, '---'))
            .join('|')
        : line,
    )
    .join('\n');
}
