import { ManagementError } from './interfaces'

/** C0 and C1 control characters (DEL included). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/**
 * A plugin is looked up by id or by name (findPluginSummary, the CLI, the API): a name of digits
 * only would be taken for an id (`plugin delete 2` would hit plugin 2), and control characters
 * would reach terminals and logs as they are.
 */
export function assertPluginName(name: string): void {
  const refuse = (problem: string) => new ManagementError('invalid_plugin', `plugin.json "name" ${JSON.stringify(name)} ${problem}`, 'name')
  if (/^\d+$/.test(name)) throw refuse('is all digits, which lookups take for a plugin id: use a name with a letter in it')
  if (CONTROL.test(name)) throw refuse('contains control characters')
}
