import { bridgedRoot } from '../modules'

/** Loads a bridged SDK on the host the first time a plugin asks for it. */
export function loadHostModule(name: string, override?: (name: string) => unknown): unknown {
    if (bridgedRoot(name) === undefined) throw new Error(`module "${name}" is not available to plugins`)
    if (override) {
        const found = override(name)
        if (found === undefined) throw new Error(`module ${name} is not installed on this server`)
        return found
    }
    try {
         
        return require(name)
    } catch (error) {
        const e = error as { code?: string; message?: string }
        if (e.code === 'MODULE_NOT_FOUND' && e.message?.includes(`'${name}'`)) {
            throw new Error(`module ${name} is not installed on this server`)
        }
        throw error
    }
}
