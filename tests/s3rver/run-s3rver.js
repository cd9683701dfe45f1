// Starts the SigV4-checking S3 server (@20minutes/s3rver) for the tests.
// usage: node run-s3rver.js DATA_DIR PORT ; prints "ready PORT" when up.
// Run with NODE_OPTIONS=--openssl-legacy-provider (paginated listings
// encrypt their continuation token with single DES).
const path = require('path');
const S3rver = require(path.join(__dirname, '..', 'node_modules', '@20minutes', 's3rver'));
const [dir, port] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: Number(port), directory: dir, silent: true });
server.run()
  .then(({ port }) => console.log('ready', port))
  .catch(e => { console.error(e); process.exit(1); });
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
