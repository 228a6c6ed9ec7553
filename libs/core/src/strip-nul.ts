/**
 * Removes escaped U+0000 from JSON text (Postgres text and jsonb cannot hold it; clients do send
 * it). Only a `\u0000` escape preceded by an even number of backslashes is one: `\\u0000` is a
 * literal backslash followed by "u0000" and stays.
 */
export function stripNulFromJson(json: string): string {
  return json.includes('\\u0000') ? json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1') : json
}
