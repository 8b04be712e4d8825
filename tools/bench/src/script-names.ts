import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { luaScript } from '../../../services/sequencer/src/lua-script.ts';

const LUA_DIR = fileURLToPath(new URL('../../../services/sequencer/src/lua/', import.meta.url));

/**
 * The sequencer's scripts by the SHA1 that `EVALSHA` names them with (ioredis hashes
 * the text as defined), so that the report can say which script was slow.
 */
export function sequencerScriptsBySha(): Map<string, string> {
  const names = new Map<string, string>();
  for (const file of readdirSync(LUA_DIR).filter((name) => name.endsWith('.lua'))) {
    names.set(createHash('sha1').update(luaScript(file)).digest('hex'), file);
  }
  return names;
}
