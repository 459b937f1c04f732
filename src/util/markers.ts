/**
 * Generated sections inside hand-written documents: the text between `<!-- NAME:start -->` and
 * `<!-- NAME:end -->` belongs to a generator (the README's results, cost and notebook tables).
 */
import { PiatError } from './errors';

/** `text` with the section NAME replaced by `section`; a document without the markers is an error naming them and `file`. */
export function replaceMarked(text: string, name: string, section: string, file: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new PiatError('bad-value', `${file} has no ${name} section between ${start} and ${end}`);
  return `${text.slice(0, a + start.length)}\n${section}\n${text.slice(b)}`;
}
