/**
 * Every process of the server runs with UTC as its local zone, whatever TZ its pod has: a plugin's
 * dates read the process's zone (`getHours()`, `setHours(0, 0, 0, 0)` for "today", a zone-less
 * `new Date('2024-05-01 12:00')`), and any pod may run any plugin, so pods in different zones gave one
 * `runEveryDay` different days. PostHog's plugin server ran in UTC. Imported first by main.ts, before
 * any isolate exists (V8 has one zone per process).
 */
process.env.TZ = 'UTC'
