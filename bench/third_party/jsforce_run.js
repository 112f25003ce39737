// Run by bench/third_party: jsforce, unpatched, against the Salesforce emulator over plain HTTP.
// argv: loginUrl username password+token clientId clientSecret refreshToken; prints one JSON line.
const jsforce = require("jsforce");

async function main() {
  const [loginUrl, username, password, clientId, clientSecret, refreshToken] = process.argv.slice(2);
  const out = {};
  const conn = new jsforce.Connection({ loginUrl, version: "59.0" });
  await conn.login(username, password);
  out.soap_instance = conn.instanceUrl;
  out.count = (await conn.query("SELECT COUNT() FROM Account")).totalSize;
  const all = await conn.query("SELECT Id, Name, Owner.Name FROM Account", { autoFetch: true, maxFetch: 1000000 });
  out.rest_records = all.records.length;
  out.describe_fields = (await conn.sobject("Account").describe()).fields.length;
  const bulk = await conn.bulk2.query("SELECT Id, Name FROM Account");
  out.bulk2_records = Array.isArray(bulk) ? bulk.length : (await bulk.toArray()).length;
  out.limits_keys = Object.keys(await conn.limits()).length;
  const oauth2 = new jsforce.OAuth2({ loginUrl, clientId, clientSecret });
  const refreshed = await oauth2.refreshToken(refreshToken);
  out.refresh_instance = refreshed.instance_url;
  const conn2 = new jsforce.Connection({ oauth2, instanceUrl: refreshed.instance_url, accessToken: refreshed.access_token, refreshToken, version: "59.0" });
  out.contacts = (await conn2.query("SELECT COUNT() FROM Contact")).totalSize;
  out.identity_org = (await conn2.identity()).organization_id;
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
