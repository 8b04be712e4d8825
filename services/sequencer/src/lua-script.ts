import { readFileSync } from 'node:fs';

/**
 * The text of a script in ./lua, read once at start-up, with each `-- @include <file>`
 * line replaced by that file (the fence is shared that way). Each script's header lists
 * its KEYS and ARGV.
 */
export function luaScript(name: string): string {
  const text = readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
  return text.replace(/^-- @include (\S+)$/gm, (_line, included: string) => luaScript(included));
}
