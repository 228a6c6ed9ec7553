import { ArchiveKind, deletePlugin, getPlugin, installPluginArchive, listPlugins, setCurrentVersion } from '@plugin-server/management'
import { HttpError } from '../interfaces'
import { readBody, readJsonObject } from '../http-io'
import { keysetPage } from '../keyset-page'
import { intQueryParam, optionalInt } from '../parse-input'
import { defineRoute } from './define-route'
import { Route } from './route'

const ARCHIVE_TYPES: Record<string, ArchiveKind> = {
  'application/zip': 'zip',
  'application/x-zip-compressed': 'zip',
  'application/gzip': 'tar.gz',
  'application/x-gzip': 'tar.gz',
  'application/x-tar+gzip': 'tar.gz',
  'application/x-compressed-tar': 'tar.gz',
}

function archiveKind(contentType: string | undefined): ArchiveKind {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase()
  const kind = ARCHIVE_TYPES[type]
  if (!kind) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `send the plugin as a .zip (Content-Type: application/zip) or .tar.gz (Content-Type: application/gzip), got ${JSON.stringify(type || 'no Content-Type')}`,
    )
  }
  return kind
}

/** A summary carries its config schema (a few KB at most): the default page holds every plugin of an install, the largest a few MB. */
const DEFAULT_PLUGINS_PAGE = 500
const MAX_PLUGINS_PAGE = 1000

export const pluginRoutes: Route[] = [
  // In name order, as always listed: the cursor is the last plugin's name.
  defineRoute('GET /api/plugins', 'catalogue', async ({ req, query, management }) => {
    const limit = intQueryParam(query, 'limit', DEFAULT_PLUGINS_PAGE, 1, MAX_PLUGINS_PAGE)
    const rows = await listPlugins(management, query.get('after') ?? '', limit + 1)
    return { status: 200, ...keysetPage(req, query, rows, limit, (plugin) => plugin.name) }
  }),
  defineRoute('POST /api/plugins', 'operator', async ({ req, management, maxBodyBytes, bodyHold }) => {
    const kind = archiveKind(req.headers['content-type'])
    const archive = await readBody(req, maxBodyBytes, bodyHold)
    if (archive.length === 0) throw new HttpError(400, 'validation_error', 'request body is empty: send the plugin archive')
    const result = await installPluginArchive(management, archive, kind)
    return { status: result.status === 'installed' ? 201 : 200, body: result }
  }),
  // By id or by plugin.json name (URL-encoded).
  // A team token is told how many of its own configs run each version, never how many other teams' do.
  defineRoute('GET /api/plugins/:plugin', 'catalogue', async ({ params, management, principal }) => ({
    status: 200,
    body: await getPlugin(management, params.plugin, principal.kind === 'team' ? { teamId: principal.teamId } : {}),
  })),
  // Rollback (or forward again): configs without a pin switch to this stored version fleet-wide.
  defineRoute('POST /api/plugins/:plugin/current-version', 'operator', async ({ req, params, management, maxBodyBytes, bodyHold }) => {
    const version = optionalInt(await readJsonObject(req, maxBodyBytes, bodyHold), 'version')
    if (version === undefined || version < 1) throw new HttpError(400, 'validation_error', 'version is required: the stored version to make current', 'version')
    return { status: 200, body: await setCurrentVersion(management, params.plugin, version) }
  }),
  // ?force=true also deletes the configs using it; without it, 409 naming them.
  defineRoute('DELETE /api/plugins/:plugin', 'operator', async ({ params, query, management }) => {
    const force = query.get('force')
    if (force !== null && force !== 'true' && force !== 'false') throw new HttpError(400, 'validation_error', 'force must be true or false', 'force')
    return { status: 200, body: await deletePlugin(management, params.plugin, { force: force === 'true', forceHint: 'add ?force=true' }) }
  }),
]
