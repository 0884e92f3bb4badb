// Signs a Pulse player link in Node.js (no dependencies), as an LMS would
// on its server before putting the link in a page:
//
//   node scripts/examples/sign-link.js KID SECRET "https://pulse.example.edu/v/UUID?student=john_doe" [TTL_SECONDS]
//
// The canonical string is the path, "?", and the query parameters other
// than sig, sorted by name (a stable sort: repeated names keep their
// order), each name=value percent-encoded with every byte but
// A-Z a-z 0-9 - . _ ~ escaped, joined by "&". The secret's text is the
// HMAC-SHA256 key.
const crypto = require("node:crypto");

function enc(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function signLink(url, kid, secret, ttlSeconds) {
  const u = new URL(url);
  u.searchParams.delete("sig");
  u.searchParams.set("kid", kid);
  u.searchParams.set("exp", String(Math.floor(Date.now() / 1000) + ttlSeconds));
  const pairs = [...u.searchParams].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const canonical = u.pathname + "?" + pairs.map(([k, v]) => enc(k) + "=" + enc(v)).join("&");
  u.searchParams.set("sig", crypto.createHmac("sha256", secret).update(canonical).digest("base64url"));
  return u.toString();
}

module.exports = { signLink };

if (require.main === module) {
  const [kid, secret, url, ttl] = process.argv.slice(2);
  if (!kid || !secret || !url) {
    console.error("usage: node sign-link.js KID SECRET URL [TTL_SECONDS]");
    process.exit(2);
  }
  console.log(signLink(url, kid, secret, Number(ttl || 86400)));
}
