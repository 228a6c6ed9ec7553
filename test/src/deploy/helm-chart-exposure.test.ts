import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '../harness/processes'
import { CHART, helm, K8sObject, render, REQUIRED_SETS, runHelm } from './chart-tools'

type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }
type Port = { name: string; containerPort: number }
type Container = { name: string; env?: EnvVar[]; envFrom?: Record<string, { name: string }>[]; ports?: Port[] }
type PodSpec = {
  serviceAccountName?: string
  containers: Container[]
  nodeSelector?: Record<string, string>
  tolerations?: Record<string, string>[]
}
type ServiceSpec = { ports: { name: string; port: number; targetPort: string }[] }
type PolicyRule = { ports: { port: string }[]; from?: Record<string, unknown>[] }

const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind)
const named = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name)
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`)
  return found
}
const podSpec = (o: K8sObject) => (o.spec as { template: { spec: PodSpec } }).template.spec
const role = (o: K8sObject) => o.metadata.name.replace('ps-plugin-server-', '')

/** The chart's one list of secret variables (ps.secretVariables in _helpers.tpl). */
function chartSecretVariables(): string[] {
  const helpers = readFileSync(path.join(CHART, 'templates/_helpers.tpl'), 'utf8')
  const block = /define "ps\.secretVariables" -}}\n([\s\S]*?)\n{{- end -}}/.exec(helpers)?.[1]
  assert.ok(block, 'ps.secretVariables not found in _helpers.tpl')
  return [...block.matchAll(/^([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1])
}

/** Variables the server reads as text whose name says they hold a credential. */
function secretVariablesOfTheServer(): string[] {
  const config = readFileSync(path.join(REPO_ROOT, 'libs/core/src/config.ts'), 'utf8')
  return [...config.matchAll(/r\.(?:string|parsed|list)\('([A-Z0-9_]+)'/g)]
    .map((m) => m[1])
    .filter((name) => /(_URL|TOKEN|_KEY|_KEYS|SECRET|PASSWORD)$/.test(name))
}

// A recognizable value per secret: wherever it shows up outside a Secret, it leaked.
const SECRET_VALUES = {
  DATABASE_URL: 'postgres://ps:pg-secret-4711@pg:5432/plugin_server',
  REDIS_URL: 'redis://:redis-secret-4711@redis:6379',
  ADMIN_API_TOKEN: 'admin-token-secret-4711',
  PLUGIN_SECRETS_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  POSTHOG_PERSONAL_API_KEY: 'phx_personal-secret-4711',
  REDIS_PASSWORD: 'redis-secret-4711',
}
const VIA_SECRETS = [
  '--set-string', `secrets.databaseUrl=${SECRET_VALUES.DATABASE_URL}`,
  '--set-string', `secrets.redisUrl=${SECRET_VALUES.REDIS_URL}`,
  '--set-string', `secrets.adminApiToken=${SECRET_VALUES.ADMIN_API_TOKEN}`,
  '--set-string', `secrets.redisPassword=${SECRET_VALUES.REDIS_PASSWORD}`,
] // prettier-ignore
/** VIA_SECRETS with the two secret variables that may also be given under config:. */
const SECRETS_ALSO_UNDER_CONFIG = [
  ...VIA_SECRETS,
  '--set-string', `config.PLUGIN_SECRETS_KEYS=${SECRET_VALUES.PLUGIN_SECRETS_KEYS}`,
  '--set-string', `config.POSTHOG_PERSONAL_API_KEY=${SECRET_VALUES.POSTHOG_PERSONAL_API_KEY}`,
] // prettier-ignore

describe('helm chart: secrets, ports and exposure', function () {
  this.timeout(180_000)
  before(() => void helm())

  it('keeps one list of secret variables that covers every credential the server reads', () => {
    const listed = chartSecretVariables()
    for (const name of secretVariablesOfTheServer()) assert.ok(listed.includes(name), `${name} is missing from ps.secretVariables`)
    assert.deepEqual(Object.keys(SECRET_VALUES).sort(), [...listed].sort(), 'this test sets every listed variable')
  })

  for (const [how, args] of [
    ['under config:', SECRETS_ALSO_UNDER_CONFIG],
    [
      'under secrets:',
      [
        ...VIA_SECRETS,
        '--set-string',
        `secrets.pluginSecretsKeys=${SECRET_VALUES.PLUGIN_SECRETS_KEYS}`,
        '--set-string',
        `secrets.posthogPersonalApiKey=${SECRET_VALUES.POSTHOG_PERSONAL_API_KEY}`,
      ],
    ],
  ] as const) {
    it(`puts every secret set ${how} in the Secret and in no ConfigMap or plain env value`, () => {
      const { objects } = render([...args, '--set', 'prometheusRule.enabled=true', '--set', 'ingress.enabled=true'])
      const secret = named(objects, 'Secret', 'ps-plugin-server') as K8sObject & { stringData: Record<string, string> }
      assert.deepEqual(secret.stringData, SECRET_VALUES)
      for (const map of ofKind(objects, 'ConfigMap')) {
        const text = JSON.stringify(map)
        for (const [name, value] of Object.entries(SECRET_VALUES)) {
          assert.ok(!text.includes(value), `ConfigMap ${map.metadata.name} holds the value of ${name}`)
          assert.ok(!(name in (map.data ?? {})), `ConfigMap ${map.metadata.name} has the key ${name}`)
        }
      }
      // Outside Secrets (the migration hook has its own), no object carries a secret value at all.
      for (const object of objects.filter((o) => o.kind !== 'Secret')) {
        const text = JSON.stringify(object)
        for (const [name, value] of Object.entries(SECRET_VALUES)) assert.ok(!text.includes(value), `${object.kind} ${object.metadata.name} holds ${name}`)
      }
      for (const deployment of ofKind(objects, 'Deployment')) {
        const env = podSpec(deployment).containers[0].env ?? []
        const fromSecret = env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name)
        const expected = [
          'DATABASE_URL',
          'REDIS_URL',
          'PLUGIN_SECRETS_KEYS',
          'POSTHOG_PERSONAL_API_KEY',
          ...(role(deployment) === 'capture' ? ['ADMIN_API_TOKEN'] : []),
        ]
        assert.deepEqual(fromSecret.sort(), expected.sort(), deployment.metadata.name)
        for (const e of env.filter((v) => v.valueFrom?.secretKeyRef)) assert.equal(e.valueFrom!.secretKeyRef!.key, e.name)
      }
    })
  }

  it('refuses a secret where it would not reach the Secret, naming it', () => {
    const cases: [string[], RegExp][] = [
      [
        ['--set', 'secrets.existingSecret=mine', '--set-string', 'config.PLUGIN_SECRETS_KEYS=k1:abc'],
        /config\.PLUGIN_SECRETS_KEYS is a secret: with secrets\.existingSecret, put it in that Secret/,
      ],
      [[...REQUIRED_SETS, '--set-string', 'roles.exporter.env.POSTHOG_PERSONAL_API_KEY=phx'], /roles\.exporter\.env\.POSTHOG_PERSONAL_API_KEY is a secret/],
      [
        [...REQUIRED_SETS, '--set-string', 'secrets.pluginSecretsKeys=k1:abc', '--set-string', 'config.PLUGIN_SECRETS_KEYS=k1:abc'],
        /PLUGIN_SECRETS_KEYS is set twice/,
      ],
      [[...REQUIRED_SETS, '--set', 'admin.port=9090'], /admin\.port \(9090\) must differ from metricsPort/],
      [[...REQUIRED_SETS, '--set', 'admin.port=8000'], /admin\/port/],
      [[...REQUIRED_SETS, '--set-string', 'config.ADMIN_PORT=8001'], /config\/ADMIN_PORT/],
    ]
    for (const [args, message] of cases) {
      const result = runHelm(['template', 'ps', CHART, ...args])
      assert.notEqual(result.status, 0, `accepted: ${args.join(' ')}`)
      assert.match(result.stderr, message)
    }
  })

  it("gives the migration Job config:'s entries the ConfigMap holds and extraEnvFrom (NODE_EXTRA_CA_CERTS for a private database CA), never a secret as a plain value", () => {
    const { objects } = render([
      ...SECRETS_ALSO_UNDER_CONFIG,
      '--set-string',
      'config.NODE_EXTRA_CA_CERTS=/etc/db-ca/ca.pem',
      '--set',
      'extraEnvFrom[0].secretRef.name=plugin-server-extra',
    ])
    const job = named(objects, 'Job', 'ps-plugin-server-migrate')
    const container = podSpec(job).containers[0]
    const env = container.env ?? []
    const plain = Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]))
    assert.equal(plain.NODE_EXTRA_CA_CERTS, '/etc/db-ca/ca.pem')
    // The same values as the ConfigMap every role reads (the hook runs before it exists), the chart's own keys aside.
    const configMap = named(objects, 'ConfigMap', 'ps-plugin-server')
    const fromConfig = Object.fromEntries(Object.entries(configMap.data ?? {}).filter(([name]) => name !== 'QUEUE_PREFIX' && name !== 'METRICS_PORT'))
    assert.deepEqual(plain, fromConfig)
    assert.equal(plain.LOG_FORMAT, 'json')
    for (const [name, value] of Object.entries(SECRET_VALUES)) {
      assert.ok(!(name in plain), `${name} is a plain env value of the migration Job`)
      assert.ok(!JSON.stringify(job).includes(value), `the migration Job holds the value of ${name}`)
    }
    assert.deepEqual(
      env.filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom?.secretKeyRef?.key]),
      [['DATABASE_URL', 'DATABASE_URL']],
    )
    assert.deepEqual(container.envFrom, [{ secretRef: { name: 'plugin-server-extra' } }])
    // A LOG_FORMAT of config: is the Job's too (never two entries of one name); json otherwise.
    const pretty = podSpec(named(render([...REQUIRED_SETS, '--set', 'config.LOG_FORMAT=pretty']).objects, 'Job', 'ps-plugin-server-migrate')).containers[0]
    assert.deepEqual(
      (pretty.env ?? []).filter((e) => e.name === 'LOG_FORMAT').map((e) => e.value),
      ['pretty'],
    )
    assert.equal(pretty.envFrom, undefined, 'no envFrom without extraEnvFrom')
  })

  it('with an existing Secret, creates none and reads every secret variable from it', () => {
    const { objects } = render(['--set', 'secrets.existingSecret=mine', '--set', 'extraEnvFrom[0].secretRef.name=extra'])
    assert.deepEqual(
      ofKind(objects, 'Secret').map((o) => o.metadata.name),
      [],
    )
    for (const deployment of ofKind(objects, 'Deployment')) {
      const container = podSpec(deployment).containers[0]
      for (const e of (container.env ?? []).filter((v) => v.valueFrom)) assert.equal(e.valueFrom!.secretKeyRef!.name, 'mine', e.name)
      assert.deepEqual(container.envFrom, [{ configMapRef: { name: 'ps-plugin-server' } }, { secretRef: { name: 'extra' } }])
    }
  })

  it('serves the admin API on its own port and Service, off the capture Service and its Ingress', () => {
    const { objects } = render([...REQUIRED_SETS, '--set', 'ingress.enabled=true', '--set', 'admin.port=8100'])
    const capture = podSpec(named(objects, 'Deployment', 'ps-plugin-server-capture')).containers[0]
    assert.equal(capture.env?.find((e) => e.name === 'ADMIN_PORT')?.value, '8100')
    assert.deepEqual(
      capture.ports?.map((p) => [p.name, p.containerPort]),
      [
        ['metrics', 9090],
        ['http', 8000],
        ['admin', 8100],
      ],
    )
    const targets = (name: string) => (named(objects, 'Service', name).spec as ServiceSpec).ports.map((p) => p.targetPort)
    assert.deepEqual(targets('ps-plugin-server-capture'), ['http'])
    assert.deepEqual(targets('ps-plugin-server-capture-admin'), ['admin'])
    const ingress = named(objects, 'Ingress', 'ps-plugin-server-capture').spec as {
      rules: { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[]
    }
    const backends = ingress.rules.flatMap((r) => r.http.paths.map((p) => p.backend.service))
    assert.deepEqual(backends, [{ name: 'ps-plugin-server-capture', port: { name: 'http' } }])
    for (const deployment of ofKind(objects, 'Deployment').filter((d) => role(d) !== 'capture')) {
      assert.equal(
        podSpec(deployment).containers[0].env?.find((e) => e.name === 'ADMIN_PORT'),
        undefined,
        deployment.metadata.name,
      )
    }
  })

  it("lets capture in from where values say, the admin port only from adminFrom, and workers nothing but scrapes, from any pod but the chart's own unless metricsFrom says", () => {
    const policies = (args: string[]) =>
      Object.fromEntries(
        ofKind(render([...REQUIRED_SETS, ...args]).objects, 'NetworkPolicy').map((p) => [role(p), (p.spec as { ingress: PolicyRule[] }).ingress]),
      )
    const open = policies([])
    const ports = (rules: PolicyRule[]) => rules.flatMap((r) => r.ports.map((p) => p.port))
    assert.deepEqual(Object.keys(open).sort(), ['capture', 'exporter', 'ingest-worker', 'job-worker', 'scheduler'])
    for (const worker of ['exporter', 'ingest-worker', 'job-worker', 'scheduler']) assert.deepEqual(ports(open[worker]), ['metrics'], worker)
    assert.deepEqual(ports(open.capture), ['metrics', 'http'], 'no admin rule while adminFrom is empty')
    // Every role runs plugins (capture its dry runs), and /metrics lists every team's configs: no pod of the chart scrapes another.
    const notTheChart = {
      namespaceSelector: {},
      podSelector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: ['plugin-server'] }] },
    }
    for (const [name, rules] of Object.entries(open)) assert.deepEqual(rules[0].from, [notTheChart], name)
    const scraper = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }
    const scraped = policies(['--set', 'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring'])
    for (const [name, rules] of Object.entries(scraped)) assert.deepEqual(rules[0].from, [scraper], name)
    const renamed = ofKind(render([...REQUIRED_SETS, '--set', 'nameOverride=events']).objects, 'NetworkPolicy')
    for (const policy of renamed) {
      const [metrics] = (policy.spec as { ingress: PolicyRule[] }).ingress
      assert.deepEqual((metrics.from?.[0].podSelector as typeof notTheChart.podSelector).matchExpressions[0].values, ['events'], policy.metadata.name)
    }
    const ops = { podSelector: { matchLabels: { team: 'ops' } } }
    const ingressNginx = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }
    const limited = policies([
      '--set',
      'networkPolicy.adminFrom[0].podSelector.matchLabels.team=ops',
      '--set',
      'networkPolicy.captureFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=ingress-nginx',
    ])
    assert.deepEqual(
      limited.capture.map((r) => [r.ports[0].port, r.from]),
      [
        ['metrics', [notTheChart]],
        ['http', [ingressNginx]],
        ['admin', [ops]],
      ],
    )
    assert.deepEqual(ofKind(render([...REQUIRED_SETS, '--set', 'networkPolicy.enabled=false']).objects, 'NetworkPolicy'), [])
  })

  it("runs every role under the chart's ServiceAccount, on its own nodes when it names them", () => {
    const { objects } = render([
      ...REQUIRED_SETS,
      '--set',
      'nodeSelector.pool=general',
      '--set',
      'roles.exporter.nodeSelector.pool=exports',
      '--set',
      'roles.ingest-worker.tolerations[0].key=ingest',
      '--set',
      'roles.ingest-worker.tolerations[0].operator=Exists',
    ])
    const account = ofKind(objects, 'ServiceAccount')
    assert.deepEqual(
      account.map((a) => [a.metadata.name, (a as K8sObject & { automountServiceAccountToken: boolean }).automountServiceAccountToken]),
      [['ps-plugin-server', false]],
    )
    const pools: Record<string, string | undefined> = {}
    for (const deployment of ofKind(objects, 'Deployment')) {
      const spec = podSpec(deployment)
      assert.equal(spec.serviceAccountName, 'ps-plugin-server')
      pools[role(deployment)] = spec.nodeSelector?.pool
      assert.equal(spec.tolerations?.[0]?.key, role(deployment) === 'ingest-worker' ? 'ingest' : undefined, deployment.metadata.name)
    }
    assert.deepEqual(pools, { capture: 'general', exporter: 'exports', 'ingest-worker': 'general', 'job-worker': 'general', scheduler: 'general' })
  })

  it("alerts on backlogs, batches failed for good, gauges that cannot be read, dead letters, configs the server disabled, isolates disposed for their team's memory, teams at or near their Redis and storage limits, crowded isolates, pods unloading configs for their RSS, plugin errors, failing scheduled tasks and jobs, a Redis that may evict, Postgres connections running out, events partition maintenance failing and pods not ready", () => {
    const rule = named(render([...REQUIRED_SETS, '--set', 'prometheusRule.enabled=true']).objects, 'PrometheusRule', 'ps-plugin-server')
    const alerts = (rule.spec as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules)
    assert.deepEqual(
      alerts.map((a) => a.alert),
      [
        'PluginServerIngestBacklogGrowing',
        'PluginServerExportBacklogGrowing',
        'PluginServerExportBatchStuck',
        'PluginServerQueuePaused',
        'PluginServerBatchesFailedForGood',
        'PluginServerQueueDepthUnreadable',
        'PluginServerGaugesUnreadable',
        'PluginServerDeadLettersPending',
        'PluginServerConfigsDisabled',
        'PluginServerTeamMemoryExceeded',
        'PluginServerTeamRedisLimit',
        'PluginServerTeamNearRedisLimit',
        'PluginServerTeamNearStorageLimit',
        'PluginServerIsolatesCrowded',
        'PluginServerResidentMemoryOverLimit',
        'PluginServerPluginErrors',
        'PluginServerScheduledTasksFailing',
        'PluginServerPluginJobsFailing',
        'PluginServerRedisMayEvict',
        'PluginServerPostgresConnectionsExhausted',
        'PluginServerEventsPartitionMaintenanceFailing',
        'PluginServerEventsPartitionsPiling',
        'PluginServerPodsNotReady',
      ],
    )
    const expr = (name: string) => alerts.find((a) => a.alert === name)!.expr
    // Every counter of a gauge read at scrape time, so none of the alerts on those gauges goes silent unnoticed.
    for (const counter of [
      'plugin_export_pending_read_errors_total',
      'plugin_team_usage_read_errors_total',
      'plugin_export_dead_letters_read_errors_total',
      'plugin_metric_read_errors_total',
    ])
      assert.match(expr('PluginServerGaugesUnreadable'), new RegExp(`sum by \\(role\\) \\(rate\\(${counter}\\[5m\\]\\)\\) > 0`), counter)
    assert.match(expr('PluginServerScheduledTasksFailing'), /scheduler_task_runs_total\{outcome=~"error\|timeout"\}\[15m\]\)\) > 0\.1$/)
    assert.match(expr('PluginServerPluginJobsFailing'), /plugin_jobs_total\{outcome="failed"\}\[5m\]\)\) > 1$/)
    assert.equal(expr('PluginServerEventsPartitionsPiling'), 'max(events_partitions) > 180')
    const tuned = named(
      render([
        ...REQUIRED_SETS,
        '--set',
        'prometheusRule.enabled=true',
        // --set makes 0.5 a string: the schema wants a number.
        '--set-json',
        'prometheusRule.scheduledTaskFailuresPerSecond=0.5',
        '--set',
        'prometheusRule.pluginJobFailuresPerSecond=3',
      ]).objects,
      'PrometheusRule',
      'ps-plugin-server',
    )
    const tunedAlerts = (tuned.spec as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules)
    assert.match(tunedAlerts.find((a) => a.alert === 'PluginServerScheduledTasksFailing')!.expr, / > 0\.5$/)
    assert.match(tunedAlerts.find((a) => a.alert === 'PluginServerPluginJobsFailing')!.expr, / > 3$/)
    assert.match(alerts.find((a) => a.alert === 'PluginServerTeamNearStorageLimit')!.expr, /plugin_team_storage_limit_bytes\)\) > 0\.9$/)
    const notReady = alerts.find((a) => a.alert === 'PluginServerPodsNotReady')!.expr
    assert.match(
      notReady,
      /deployment=~"\(ps-plugin-server-capture\|ps-plugin-server-exporter\|ps-plugin-server-ingest-worker\|ps-plugin-server-job-worker\|ps-plugin-server-scheduler\)"/,
    )
    assert.deepEqual(ofKind(render(REQUIRED_SETS).objects, 'PrometheusRule'), [], 'off by default: it needs the Prometheus Operator')
  })

  it('leaves the roles crowded on purpose (prometheusRule.crowdedOnPurposeRoles) out of PluginServerIsolatesCrowded, and only that alert', () => {
    const crowdedExpr = (sets: string[]) => {
      const rule = named(render([...REQUIRED_SETS, '--set', 'prometheusRule.enabled=true', ...sets]).objects, 'PrometheusRule', 'ps-plugin-server')
      const alerts = (rule.spec as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules)
      return {
        crowded: alerts.find((a) => a.alert === 'PluginServerIsolatesCrowded')!.expr,
        rss: alerts.find((a) => a.alert === 'PluginServerResidentMemoryOverLimit')!.expr,
      }
    }
    assert.equal(crowdedExpr([]).crowded, 'sum by (role, pod) (increase(plugin_instances_evicted_for_room_total[15m])) > 0', 'every role by default')
    const one = crowdedExpr(['--set', 'prometheusRule.crowdedOnPurposeRoles={scheduler}'])
    assert.equal(one.crowded, 'sum by (role, pod) (increase(plugin_instances_evicted_for_room_total{role!~"scheduler"}[15m])) > 0')
    assert.doesNotMatch(one.rss, /role!~/, 'a pod over its RSS limit is alerted on whatever its role')
    assert.match(crowdedExpr(['--set', 'prometheusRule.crowdedOnPurposeRoles={scheduler,job-worker}']).crowded, /\{role!~"scheduler\|job-worker"\}\[15m\]/)
  })

  it('says after install where capture and the admin UI are and which Secret holds what', () => {
    const result = runHelm(['install', 'ps', CHART, '--dry-run=client', ...REQUIRED_SETS])
    assert.equal(result.status, 0, result.stderr)
    const notes = result.stdout.slice(result.stdout.indexOf('NOTES:'))
    assert.match(notes, /port-forward svc\/ps-plugin-server-capture 8000:80/)
    assert.match(notes, /port-forward svc\/ps-plugin-server-capture-admin 8001:80/)
    assert.match(notes, /The admin API is off: set secrets\.adminApiToken/)
    // ADMIN_API_TEAM_TOKENS turns the API on for team tokens without an operator token.
    for (const sets of [
      ['--set-string', 'config.ADMIN_API_TEAM_TOKENS=true'],
      ['--set-string', 'roles.capture.env.ADMIN_API_TEAM_TOKENS=TRUE'],
    ]) {
      const teams = runHelm(['install', 'ps', CHART, '--dry-run=client', ...REQUIRED_SETS, ...sets])
      assert.equal(teams.status, 0, teams.stderr)
      const teamNotes = teams.stdout.slice(teams.stdout.indexOf('NOTES:'))
      assert.doesNotMatch(teamNotes, /The admin API is off/, sets.join(' '))
      assert.match(teamNotes, /Only team tokens are accepted \(ADMIN_API_TEAM_TOKENS\)/, sets.join(' '))
    }
    // The capture role's own env wins over config:, a false too.
    const overridden = runHelm([
      'install',
      'ps',
      CHART,
      '--dry-run=client',
      ...REQUIRED_SETS,
      '--set-string',
      'config.ADMIN_API_TEAM_TOKENS=true',
      '--set',
      'roles.capture.env.ADMIN_API_TEAM_TOKENS=false',
    ])
    assert.equal(overridden.status, 0, overridden.stderr)
    assert.match(overridden.stdout.slice(overridden.stdout.indexOf('NOTES:')), /The admin API is off/)
    assert.match(notes, /ADMIN_API_TOKEN, DATABASE_URL, PLUGIN_SECRETS_KEYS, POSTHOG_PERSONAL_API_KEY, REDIS_PASSWORD, REDIS_URL/)
    assert.match(notes, /PLUGIN_SECRETS_KEYS is not set/)
  })
  it("prints the Postgres connections the roles' pools can open at their maxReplicas and in an upgrade, warning when over postgresMaxConnections", () => {
    const notes = (sets: string[]) => {
      const result = runHelm(['install', 'ps', CHART, '--dry-run=client', ...REQUIRED_SETS, ...sets])
      assert.equal(result.status, 0, result.stderr)
      return result.stdout.slice(result.stdout.indexOf('NOTES:'))
    }
    // Defaults: capture 10, ingest-worker 20, exporter 10, job-worker 5 at maxReplicas and 2 schedulers, 10 each and 1 for /readyz; 14 pods of surge; the hook's 2.
    const defaults = notes([])
    assert.match(
      defaults,
      /Postgres connections \(PG_POOL_SIZE \+ 1 for \/readyz per pod\): 88 at the fewest pods, up to 517 at the roles' maxReplicas, 673 during a rolling upgrade/,
    )
    assert.match(defaults, /WARNING: that is more than postgresMaxConnections \(100\)/)
    assert.match(defaults, /PgBouncer in\ntransaction mode \(1\.21\+ with max_prepared_statements/)
    // A role's own PG_POOL_SIZE counts for its pods only: 20 ingest workers of 2 + 1 and 27 other pods of 10 + 1.
    const smaller = notes(['--set', 'roles.ingest-worker.env.PG_POOL_SIZE=2', '--set', 'postgresMaxConnections=500'])
    assert.match(smaller, /up to 357 at the roles' maxReplicas, 473 during a rolling upgrade/)
    assert.doesNotMatch(smaller, /WARNING: that is more than postgresMaxConnections/)
  })
})
