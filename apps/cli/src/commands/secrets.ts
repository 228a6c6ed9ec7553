import { randomBytes } from 'node:crypto'
import type { Command } from 'commander'
import { rotateSecrets } from '@plugin-server/management'
import { SECRET_KEY_ID } from '@plugin-server/core'
import { fail, withManagement } from '../cli-context'
import { printError, printResult } from '../output'

/**
 * `secrets rotate`: re-encrypt every stored secret config value with the first key of
 * PLUGIN_SECRETS_KEYS (progress on stderr, the summary as JSON on stdout); exit 1 when a config
 * was skipped because a value did not open.
 * `secrets generate-key`: a fresh `<id>:<base64>` entry for that variable.
 */
export function registerSecrets(program: Command): void {
  const secrets = program.command('secrets').description('secret plugin config values encrypted at rest (PLUGIN_SECRETS_KEYS)')
  secrets
    .command('rotate')
    .description('re-encrypt every stored secret with the first key of PLUGIN_SECRETS_KEYS; plaintext values are encrypted too')
    .action(async () => {
      const result = await withManagement((ctx) =>
        rotateSecrets(ctx, (done, total, so) => {
          if (done === total || done % 100 === 0) {
            process.stderr.write(
              `secrets rotate: ${done}/${total} configs (${so.reencrypted} re-encrypted, ${so.encrypted} plaintext encrypted, ${so.current} already on key ${so.keyId})\n`,
            )
          }
        }),
      )
      printResult(result)
      // After the summary: every config that could be was rotated; these need a key back or their value set again.
      for (const { configId, reason } of result.skipped) printError(`secrets rotate: skipped plugin config ${configId}: ${reason}`)
      if (result.skipped.length > 0) process.exitCode = 1
    })
  secrets
    .command('generate-key')
    .option('--id <id>', 'key id stored with each ciphertext', `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`)
    .description('print a new key entry for PLUGIN_SECRETS_KEYS (put it first, keep the old one until rotate has run)')
    .action((options: { id: string }) => {
      // An entry the fleet refuses at start would, put first as told, stop every role.
      if (!SECRET_KEY_ID.test(options.id)) fail(`--id must be 1 to 32 letters, digits, '_', '.' or '-' (got ${JSON.stringify(options.id)})`)
      process.stdout.write(`${options.id}:${randomBytes(32).toString('base64')}\n`)
    })
}
