import type { LoadHook } from 'node:module';

/**
 * Module loader hooks (run in Node's hooks thread, after tsx's) that hand back the
 * JavaScript tsx makes of a TypeScript file instead of running it: importing
 * `file.ts?transpiled-source` yields a module whose default export is that code,
 * inline source map included. See transpiled-source-map.ts.
 */
export const TRANSPILED_SOURCE_PARAM = 'transpiled-source';

export const load: LoadHook = async (url, context, nextLoad) => {
  const target = new URL(url);
  if (!target.searchParams.has(TRANSPILED_SOURCE_PARAM)) return nextLoad(url, context);
  target.searchParams.delete(TRANSPILED_SOURCE_PARAM);
  const { source } = await nextLoad(target.href, context);
  const code = typeof source === 'string' ? source : new TextDecoder().decode(source);
  return { format: 'module', shortCircuit: true, source: `export default ${JSON.stringify(code)};` };
};
