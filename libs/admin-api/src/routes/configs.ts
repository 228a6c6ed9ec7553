import { createConfig, deleteConfig, MAX_CONFIG_ORDER, getConfig, listConfigs, reorderConfigs, setConfigEnabled, updateConfig } from '@plugin-server/management'
import { HttpError } from '../interfaces'
import { readJsonObject } from '../http-io'
import { attachmentValues, configValues, idList, idParam, optionalBool, optionalInt, optionalNullableId, storableString } from '../parse-input'
import { defineRoute } from './define-route'
import { Route } from './route'

function pluginRef(value: unknown): number | string {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value
  if (typeof value === 'string' && value.trim() !== '') return storableString('plugin_id', value)
  throw new HttpError(400, 'validation_error', 'plugin_id is required: the plugin id (or its plugin.json name)', 'plugin_id')
}

export const configRoutes: Route[] = [
  defineRoute('GET /api/teams/:teamId/configs', 'team', async ({ params, management }) => ({
    status: 200,
    body: await listConfigs(management, idParam(params.teamId, 'team', 'teamId')),
  })),
  defineRoute('POST /api/teams/:teamId/configs', 'team', async ({ req, params, management, maxBodyBytes, bodyHold }) => {
    const teamId = idParam(params.teamId, 'team', 'teamId')
    const body = await readJsonObject(req, maxBodyBytes, bodyHold)
    const view = await createConfig(management, {
      teamId,
      plugin: pluginRef(body.plugin_id),
      config: configValues(body),
      attachments: attachmentValues(body),
      order: optionalInt(body, 'order', MAX_CONFIG_ORDER),
      enabled: optionalBool(body, 'enabled'),
      pinnedVersion: optionalNullableId(body, 'pinned_version'),
    })
    return { status: 201, body: view }
  }),
  defineRoute('PUT /api/teams/:teamId/configs/order', 'team', async ({ req, params, management, maxBodyBytes, bodyHold }) => {
    const teamId = idParam(params.teamId, 'team', 'teamId')
    const ids = idList(await readJsonObject(req, maxBodyBytes, bodyHold), 'ids')
    if (ids === undefined) throw new HttpError(400, 'validation_error', 'ids is required: every config id of the team, first runs first', 'ids')
    return { status: 200, body: await reorderConfigs(management, teamId, ids) }
  }),
  defineRoute('GET /api/configs/:id', 'config', async ({ params, management }) => ({
    status: 200,
    body: await getConfig(management, idParam(params.id, 'plugin config', 'id')),
  })),
  defineRoute('PATCH /api/configs/:id', 'config', async ({ req, params, management, maxBodyBytes, bodyHold }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const body = await readJsonObject(req, maxBodyBytes, bodyHold)
    const view = await updateConfig(management, id, {
      config: configValues(body),
      attachments: attachmentValues(body),
      order: optionalInt(body, 'order', MAX_CONFIG_ORDER),
      enabled: optionalBool(body, 'enabled'),
      pinnedVersion: optionalNullableId(body, 'pinned_version'),
    })
    return { status: 200, body: view }
  }),
  defineRoute('DELETE /api/configs/:id', 'config', async ({ params, management }) => ({
    status: 200,
    body: await deleteConfig(management, idParam(params.id, 'plugin config', 'id')),
  })),
  defineRoute('POST /api/configs/:id/enable', 'config', async ({ params, management }) => ({
    status: 200,
    body: await setConfigEnabled(management, idParam(params.id, 'plugin config', 'id'), true),
  })),
  defineRoute('POST /api/configs/:id/disable', 'config', async ({ params, management }) => ({
    status: 200,
    body: await setConfigEnabled(management, idParam(params.id, 'plugin config', 'id'), false),
  })),
]
