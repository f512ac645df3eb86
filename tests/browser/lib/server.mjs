// The server under test: the interop suite's launcher (tests/interop/lib/gatehouse.mjs), shared rather than
// copied. It has no npm dependency, so importing it couples the two packages by nothing but this path: it
// starts the real binary ($GATEHOUSE_BIN, else target/debug/gatehouse) on a free loopback port with a fresh
// SQLite file in a temporary directory, waits for "gatehouse listening on http://127.0.0.1:PORT", reads the
// first-start administrator from stdout, and kills whatever is left when the test process exits. The issuer
// is the listen address, http://127.0.0.1:PORT, byte for byte.

export { startGatehouse, GATEHOUSE_BIN } from '../../interop/lib/gatehouse.mjs';
