import { HttpRequestInit, HttpResponseData } from '../interfaces'

interface NodeFetchResponse {
    status: number
    statusText: string
    url: string
    headers: { raw(): Record<string, string[]> }
    buffer(): Promise<Buffer>
}
type NodeFetch = (url: string, init: Record<string, unknown>) => Promise<NodeFetchResponse>

 
const nodeFetch = require('node-fetch') as NodeFetch

/** Default `fetch` for plugins: node-fetch, body read fully (bounded) so one copy crosses the boundary. */
export async function defaultFetch(url: string, init: HttpRequestInit, signal: AbortSignal, maxBytes: number): Promise<HttpResponseData> {
    const response = await nodeFetch(url, {
        method: init.method ?? 'GET',
        headers: init.headers,
        body: init.body instanceof Uint8Array ? Buffer.from(init.body) : init.body,
        signal,
        size: maxBytes,
        timeout: init.timeoutMs ?? 0,
    })
    const body = await response.buffer()
    const headers: [string, string][] = []
    for (const [name, values] of Object.entries(response.headers.raw())) headers.push([name, values.join(', ')])
    return { status: response.status, statusText: response.statusText, url: response.url, headers, body: new Uint8Array(body) }
}
