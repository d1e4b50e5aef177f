/** The caller's address as seen on the socket, with IPv4-mapped IPv6 unwrapped. */
function normalise(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/**
 * The address a request came from. X-Forwarded-For is believed only when the socket peer is a
 * configured proxy, and then only up to the first hop that is not one of ours (the rightmost
 * untrusted entry): anyone can send the header, only our proxies can append to it.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: ReadonlySet<string>,
): string | undefined {
  if (socketAddress === undefined) return undefined;
  let address = normalise(socketAddress);
  if (trustedProxies.size === 0 || !trustedProxies.has(address) || forwardedFor === undefined) return address;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
    .split(",")
    .map((h) => normalise(h.trim()))
    .filter((h) => h !== "");
  while (trustedProxies.has(address)) {
    const hop = hops.pop();
    if (hop === undefined) break;
    address = hop;
  }
  return address;
}
