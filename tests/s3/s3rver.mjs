// The S3-compatible server of the lake tests: s3rver on a loopback port.
//   node s3rver.mjs <port> <directory> [bucket...]
// Serves the buckets found in <directory> plus the ones named (created when
// missing), so a restart on the same directory keeps every object. Prints
// "ready <port>" once it accepts connections; SIGTERM/SIGINT stop it.
// S3RVER_LOG=1 logs each request on stdout (the tests count them).
// Run node with --openssl-legacy-provider: s3rver encrypts ListObjectsV2
// continuation tokens with DES, which OpenSSL 3 only has there.
// Credentials: S3RVER / S3RVER, and the key ids S3RVER_ACCESS_KEY_ID lists
// (comma-separated) when set (any secret: s3rver does not check SigV4
// signatures, only the key id).
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';

const [port, directory, ...buckets] = process.argv.slice(2);
if (!port || !directory) {
  console.error('usage: node s3rver.mjs <port> <directory> [bucket...]');
  process.exit(2);
}
for (const id of (process.env.S3RVER_ACCESS_KEY_ID || '').split(',')) {
  if (id) AWSAccount.DUMMY_ACCOUNT.createKeyPair(id, 'unchecked');
}
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: process.env.S3RVER_LOG !== '1',
  configureBuckets: buckets.map((name) => ({ name })),
});
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
try {
  const { port: bound } = await server.run();
  console.log(`ready ${bound}`);
} catch (e) {
  console.error(`s3rver: ${e.message}`);
  process.exit(1);
}
