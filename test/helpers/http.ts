import http from "node:http";

/** An HTTP/1.1 answer: status, headers, body text. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * One cleartext HTTP/1.1 request on a connection of its own (`Connection: close`), so no idle
 * keep-alive connection is left behind to hold up the server's shutdown.
 */
export function httpRequest(method: string, url: string, headers: Record<string, string> = {}, body?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
        resolve({ status: res.statusCode!, headers: h, text });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** POSTs a form; returns status, headers and the parsed JSON body. */
export async function postForm(
  url: string,
  body: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const r = await httpRequest(
    "POST",
    url,
    { "content-type": "application/x-www-form-urlencoded", ...headers },
    new URLSearchParams(body).toString(),
  );
  return { status: r.status, headers: r.headers, body: JSON.parse(r.text) as Record<string, unknown> };
}

/** GETs a URL and returns its body text (throws unless 200). */
export async function getText(url: string): Promise<string> {
  const r = await httpRequest("GET", url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.text}`);
  return r.text;
}
