import { CaptureLimits, CaptureRequest, unknownToken } from '../parse'
import type { TeamResolver } from '../team-resolver'
import { apiVersion, flagsResponse } from './flags-response'
import { remoteConfig, remoteConfigScript, SdkSettings } from './remote-config'
import { flagsRequestToken, SdkEndpoint } from './sdk-request'

export interface SdkAnswer {
  status: number
  /** JSON for everything but the config script, which is JavaScript text. */
  body: unknown
  contentType: 'application/json' | 'application/javascript'
}

/** Answers posthog-js' config and flags requests for a project whose token a team has; unknown tokens get capture's 401. */
export async function answerSdkRequest(
  endpoint: SdkEndpoint,
  req: CaptureRequest,
  deps: { teams: TeamResolver; settings: SdkSettings; limits: CaptureLimits },
): Promise<SdkAnswer> {
  const token = endpoint.kind === 'config' || endpoint.kind === 'config.js' ? endpoint.token : flagsRequestToken(req, deps.limits)
  if ((await deps.teams.teamId(token)) === null) throw unknownToken()
  const config = remoteConfig(token, deps.settings)
  switch (endpoint.kind) {
    case 'config':
      return { status: 200, body: config, contentType: 'application/json' }
    case 'config.js':
      return { status: 200, body: remoteConfigScript(config), contentType: 'application/javascript' }
    case 'flags':
      return {
        status: 200,
        body: flagsResponse('flags', apiVersion(req.query), req.query.get('config') === 'true' ? config : null, req.now),
        contentType: 'application/json',
      }
    case 'decide':
      return { status: 200, body: flagsResponse('decide', apiVersion(req.query), config, req.now), contentType: 'application/json' }
  }
}
