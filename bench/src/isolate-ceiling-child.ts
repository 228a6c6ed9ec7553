import ivm from 'isolated-vm'

/**
 * The child of `npm run bench -- isolate-ceiling`, a plain Node process that is meant to die: it
 * first makes `functions` functions in its own isolate and keeps them (`distinct`: each compiled from
 * its own source, as `new Function` does; `one-literal`: closures of one function literal), then
 * makes isolates with a context each, printing how many exist after every tenth, until V8 aborts it.
 */
function main(): void {
  const kind = process.argv[2]
  const functions = Number(process.argv[3])
  if (kind !== 'distinct' && kind !== 'one-literal') throw new Error(`isolate-ceiling: the kind must be distinct or one-literal, got ${kind}`)
  if (!Number.isInteger(functions) || functions < 0) throw new Error(`isolate-ceiling: the function count must be an integer ≥ 0, got ${process.argv[3]}`)
  const kept: unknown[] = []
  for (let i = 0; i < functions; i++) kept.push(kind === 'distinct' ? new Function(`return ${i}`) : () => i)
  for (let made = 1; ; made++) {
    const isolate = new ivm.Isolate({ memoryLimit: 16 })
    kept.push(isolate, isolate.createContextSync())
    if (made % 10 === 0) process.stdout.write(`${made}\n`)
  }
}

main()
