import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { MONITORED_QUEUES, monitoredQueues } from '@plugin-server/core'
import { parseAllDocuments } from 'yaml'
import { REPO_ROOT } from '../harness/processes'
import { CHART, dashboardQueries, dashboards, helm, K8sObject, render, REQUIRED_SETS, runHelm } from './chart-tools'

const PRODUCTION = ['-f', path.join(CHART, 'values-production.yaml')]
const KEDA = [...REQUIRED_SETS, '--set', 'keda.enabled=true', '--set', 'keda.redisAddress=redis:6379', '--set', 'serviceMonitor.enabled=true']
const EVERYTHING = [
  ...KEDA,
  '--set', 'prometheusRule.enabled=true',
  '--set', 'ingress.enabled=true',
  '--set', 'ingress.tls[0].secretName=capture-tls',
  '--set', 'ingress.tls[0].hosts[0]=capture.example.com',
  '--set', 'networkPolicy.captureFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=ingress-nginx',
  '--set', 'networkPolicy.adminFrom[0].podSelector.matchLabels.team=ops',
  '--set', 'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring',
  '--set', 'roles.exporter.nodeSelector.pool=exports',
  '--set', 'tolerations[0].key=dedicated',
  '--set', 'tolerations[0].operator=Exists',
  '--set', 'extraEnvFrom[0].secretRef.name=plugin-server-extra',
  '--set', 'extraVolumes[0].name=db-ca',
  '--set', 'extraVolumes[0].configMap.name=db-ca',
  '--set', 'extraVolumeMounts[0].name=db-ca',
  '--set', 'extraVolumeMounts[0].mountPath=/etc/db-ca',
  '--set', 'extraVolumeMounts[0].readOnly=true',
] // prettier-ignore

function validate(yaml: string): { validated: number; kinds: Record<string, number>; errors: { object: string; error: string }[] } {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/validate-manifests.mjs')], {
    input: yaml,
    encoding: 'utf8',
    cwd: REPO_ROOT,
    env: process.env,
  })
  try {
    return JSON.parse(result.stdout) as ReturnType<typeof validate>
  } catch {
    throw new Error(
      `validate-manifests.mjs failed (are kubernetes-models, @kubernetes-models/keda and @kubernetes-models/prometheus-operator installed?): ${result.stderr}`,
    )
  }
}

const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind)
type Container = { name: string; env?: { name: string; value?: string }[]; args?: string[] }
const podSpec = (d: K8sObject) => (d.spec as { template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] } } }).template.spec

describe('helm chart', function () {
  this.timeout(180_000)
  before(() => void helm())

  for (const [name, args] of [
    ['default values', REQUIRED_SETS],
    ['production example', PRODUCTION],
    ['KEDA and ServiceMonitor', KEDA],
    ['every option on (alerts, Ingress, NetworkPolicy peers, per-role scheduling, extraEnvFrom)', EVERYTHING],
  ] as const) {
    it(`lints, renders and validates against the Kubernetes, KEDA and Prometheus Operator schemas: ${name}`, () => {
      const lint = runHelm(['lint', '--strict', CHART, ...args])
      assert.equal(lint.status, 0, lint.stdout + lint.stderr)
      const { yaml, objects } = render([...args])
      const result = validate(yaml)
      assert.deepEqual(result.errors, [])
      assert.equal(result.validated, objects.length)
      assert.equal(ofKind(objects, 'Deployment').length, 5)
    })
  }

  it("scales each worker role with KEDA on its own queues' BullMQ wait lists", () => {
    const { objects } = render(KEDA)
    const triggers = Object.fromEntries(
      ofKind(objects, 'ScaledObject').map((o) => {
        const spec = o.spec as { triggers: { type: string; metadata: Record<string, string> }[] }
        return [o.metadata.name.replace('ps-plugin-server-', ''), spec.triggers.filter((t) => t.type === 'redis').map((t) => t.metadata.listName)]
      }),
    )
    assert.deepEqual(triggers, {
      'ingest-worker': ['{ps}:ingest:wait'],
      exporter: ['{ps}:export:wait', '{ps}:export-deliveries:wait'],
      'job-worker': ['{ps}:jobs:wait'],
    })
    for (const list of Object.values(triggers).flat()) assert.ok(MONITORED_QUEUES.includes(list.split(':')[1]), list)
    // Without KEDA (and for the HTTP app always) a CPU HorizontalPodAutoscaler.
    assert.deepEqual(
      ofKind(objects, 'HorizontalPodAutoscaler').map((o) => o.metadata.name),
      ['ps-plugin-server-capture'],
    )
    assert.equal(ofKind(render(REQUIRED_SETS).objects, 'HorizontalPodAutoscaler').length, 4)
  })

  it('scales schedulers on the wait lists of their shards when config.SCHEDULER_SHARDS is above 1, as their processes report them', () => {
    const listsOf = (args: string[]) =>
      ofKind(render([...KEDA, '--set', 'roles.scheduler.autoscaling.enabled=true', ...args]).objects, 'ScaledObject')
        .filter((o) => o.metadata.name.endsWith('scheduler'))
        .flatMap((o) => (o.spec as { triggers: { type: string; metadata: Record<string, string> }[] }).triggers)
        .filter((t) => t.type === 'redis')
        .map((t) => t.metadata.listName)
    assert.deepEqual(listsOf([]), ['{ps}:scheduled:wait'])
    const sharded = listsOf(['--set-string', 'config.SCHEDULER_SHARDS=3'])
    assert.deepEqual(sharded, ['{ps}:scheduled-0:wait', '{ps}:scheduled-1:wait', '{ps}:scheduled-2:wait'])
    assert.deepEqual(
      sharded.map((list) => list.split(':')[1]),
      monitoredQueues(3).filter((q) => q.startsWith('scheduled')),
    )
  })

  it('gives each role objects of its own and every Job, Deployment and Service a name of at most 63 characters, however long the release name: the fullname is cut, never the role', () => {
    // 51 characters: cut whole to 52, <fullname>-<role> had given every role the same name.
    const release = 'analytics-plugins-production-eu-west1-and-more-word'
    const result = runHelm(['template', release, CHART, ...REQUIRED_SETS, '--set', 'prometheusRule.enabled=true'])
    assert.equal(result.status, 0, result.stderr)
    const objects = parseAllDocuments(result.stdout)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null)
    const byKind = new Map<string, string[]>()
    for (const o of objects) byKind.set(o.kind, [...(byKind.get(o.kind) ?? []), o.metadata.name])
    for (const [kind, names] of byKind) assert.equal(new Set(names).size, names.length, `${kind}: ${names.join(', ')}`)
    for (const kind of ['Deployment', 'Service', 'Job', 'PodDisruptionBudget', 'NetworkPolicy', 'HorizontalPodAutoscaler']) {
      for (const name of byKind.get(kind) ?? []) assert.ok(name.length <= 63, `${kind} ${name}: ${name.length} characters`)
    }
    const deployments = byKind.get('Deployment') ?? []
    assert.deepEqual(deployments.map((name) => /-(capture|ingest-worker|exporter|scheduler|job-worker)$/.exec(name)?.[1]).sort(), [
      'capture',
      'exporter',
      'ingest-worker',
      'job-worker',
      'scheduler',
    ])
    const unavailable = /deployment=~"([^"]+)"/.exec(result.stdout)?.[1]
    assert.ok(unavailable !== undefined, 'the rule on unavailable replicas')
    for (const name of deployments) assert.match(name, new RegExp(`^${unavailable}$`), 'the alert on unavailable replicas names each Deployment')
  })

  it("mounts extraVolumes in every role's pods and the migration Job, beside /tmp (a private CA for the database, the root filesystem being read-only)", () => {
    const { objects } = render(EVERYTHING)
    const pods = [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'Job')].map((o) => ({
      name: o.metadata.name,
      spec: (o.spec as { template: { spec: { volumes: { name: string }[]; containers: { volumeMounts: { name: string; mountPath: string }[] }[] } } }).template
        .spec,
    }))
    assert.equal(pods.length, 6, 'five roles and the migration Job')
    for (const { name, spec } of pods) {
      assert.deepEqual(
        spec.volumes.map((v) => v.name),
        ['tmp', 'db-ca'],
        name,
      )
      assert.deepEqual(
        spec.containers[0].volumeMounts.map((m) => m.mountPath),
        ['/tmp', '/etc/db-ca'],
        name,
      )
    }
  })

  it('stops every role inside its grace period and probes the health endpoints', () => {
    for (const args of [REQUIRED_SETS, PRODUCTION]) {
      for (const deployment of ofKind(render([...args]).objects, 'Deployment')) {
        const spec = podSpec(deployment)
        const grace = Number(spec.containers[0].env?.find((e) => e.name === 'SHUTDOWN_GRACE_MS')?.value)
        assert.ok(grace > 0 && grace < spec.terminationGracePeriodSeconds * 1000, `${deployment.metadata.name}: ${grace} ms`)
        assert.ok(grace > 30_000 || deployment.metadata.name.endsWith('capture'), `${deployment.metadata.name}: longer than PLUGIN_TIMEOUT_MS`)
        const container = spec.containers[0] as Container & Record<string, { httpGet: { path: string; port: string } }>
        assert.deepEqual(
          [container.startupProbe.httpGet, container.livenessProbe.httpGet, container.readinessProbe.httpGet],
          [
            { path: '/healthz', port: 'metrics' },
            { path: '/healthz', port: 'metrics' },
            { path: '/readyz', port: 'metrics' },
          ],
        )
        assert.deepEqual(container.args, ['start', deployment.metadata.name.replace('ps-plugin-server-', '')])
      }
    }
  })

  it('ships every dashboard as a ConfigMap for the Grafana sidecar and a migration hook', () => {
    const { objects } = render(REQUIRED_SETS)
    const maps = ofKind(objects, 'ConfigMap').filter((o) => o.metadata.labels?.grafana_dashboard === '1')
    assert.equal(maps.length, dashboards().length)
    for (const map of maps) for (const json of Object.values(map.data ?? {})) assert.ok((JSON.parse(json) as { panels: unknown[] }).panels.length > 0)
    const job = ofKind(objects, 'Job')[0]
    assert.equal(job.metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade')
    assert.deepEqual(podSpec(job).containers[0].args, ['migrate'])
  })

  it("shows every queue of its role on the scheduler and export dashboards' queue panels, the scheduler's shards and historical exports included", () => {
    /** Queue names a dashboard's panels select by a literal `queue=~"…"` (Prometheus anchors the regex). */
    const selected = (file: string, queues: readonly string[]) => {
      const { json } = dashboards().find((d) => d.file === file)!
      const regexes = dashboardQueries(json).flatMap((q) => [...q.matchAll(/queue=~"([^"$]+)"/g)].map((m) => new RegExp(`^(?:${m[1]})$`)))
      assert.ok(regexes.length > 0, file)
      return queues.filter((queue) => regexes.some((re) => re.test(queue)))
    }
    const scheduling = [...new Set([...monitoredQueues(1), ...monitoredQueues(4)])].filter((q) => q.startsWith('scheduled') || q === 'jobs')
    assert.deepEqual(selected('scheduler.json', scheduling), scheduling)
    const exporting = MONITORED_QUEUES.filter((q) => q.startsWith('export'))
    assert.ok(exporting.includes('export-historical'), exporting.join(' '))
    assert.deepEqual(selected('export.json', exporting), exporting)
  })

  it('refuses wrong values with a message that names them', () => {
    const cases: [string[], RegExp][] = [
      [[], /secrets\/databaseUrl.*minLength|secrets\.databaseUrl is required/s],
      [[...REQUIRED_SETS, '--set', 'roles.ingest-worker.replica=3'], /roles\/ingest-worker.*additional properties 'replica' not allowed/s],
      [[...REQUIRED_SETS, '--set', 'roles.capture.pdb.maxUnavailable=null'], /roles\.capture\.pdb needs minAvailable or maxUnavailable/],
      [[...REQUIRED_SETS, '--set', 'ingress.enabled=true', '--set', 'ingress.hosts=null'], /ingress\.enabled needs ingress\.hosts/],
      [
        [...REQUIRED_SETS, '--set', 'keda.enabled=true', '--set', 'keda.redisAddress=redis:6379', '--set', 'keda.redisAuth=true'],
        /keda\.redisAuth reads REDIS_PASSWORD from the chart's Secret: set secrets\.redisPassword/,
      ],
      [[...REQUIRED_SETS, '--set', 'keda.enabled=true'], /keda\/redisAddress/],
      [[...REQUIRED_SETS, '--set', 'queuePrefix=ps'], /queuePrefix/],
      [
        [...REQUIRED_SETS, '--set', 'roles.exporter.terminationGracePeriodSeconds=30'],
        /roles\.exporter\.terminationGracePeriodSeconds \(30\) minus shutdownMarginSeconds \(10\) must be longer than config\.PLUGIN_TIMEOUT_MS/,
      ],
      [
        // A role's own env reaches its pods over config:, so the check reads it too.
        [...REQUIRED_SETS, '--set-string', 'roles.job-worker.env.PLUGIN_TIMEOUT_MS=600000'],
        /roles\.job-worker\.terminationGracePeriodSeconds \(60\) minus shutdownMarginSeconds \(10\) must be longer than roles\.job-worker\.env\.PLUGIN_TIMEOUT_MS \(600000 ms\)/,
      ],
      [[...REQUIRED_SETS, '--set-string', 'roles.scheduler.env.SCHEDULER_SHARDS=4'], /roles\.scheduler\.env\.SCHEDULER_SHARDS: set it under config/],
      [
        [...REQUIRED_SETS, '--set-string', 'config.CAPTURE_SHUTDOWN_DELAY_MS=20000'],
        /roles\.capture\.terminationGracePeriodSeconds \(30\) minus shutdownMarginSeconds \(10\) must be longer than config\.CAPTURE_SHUTDOWN_DELAY_MS \(20000 ms\)/,
      ],
      [
        [...REQUIRED_SETS, '--set-string', 'roles.capture.env.CAPTURE_SHUTDOWN_DELAY_MS=25000'],
        /roles\.capture\.terminationGracePeriodSeconds \(30\) minus shutdownMarginSeconds \(10\) must be longer than roles\.capture\.env\.CAPTURE_SHUTDOWN_DELAY_MS \(25000 ms\)/,
      ],
      [[...REQUIRED_SETS, '--set', 'secrets.databaseUrl=mysql://x'], /secrets\/databaseUrl/],
      [[...REQUIRED_SETS, '--set-string', 'config.REDIS_URL=redis://elsewhere'], /config\/REDIS_URL/],
    ]
    for (const [args, message] of cases) {
      const result = runHelm(['template', 'ps', CHART, ...args])
      assert.notEqual(result.status, 0, `accepted: ${args.join(' ')}`)
      assert.match(result.stderr, message)
    }
  })
})
