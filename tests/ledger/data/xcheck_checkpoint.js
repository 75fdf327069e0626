// An independent check of ceasewatch's signed checkpoint format, run by test_checkpoint.py when
// Node.js is present: key IDs, the signed-note split, the cosignature/v1 message and the RFC 9162
// root are recomputed here from the specs, and the Ed25519 signatures verified with Node's crypto.
// Usage: node xcheck_checkpoint.js <note file> <log vkey> <cosigner vkey> <leaf entries...>
"use strict";
const crypto = require("crypto");
const fs = require("fs");

const [noteFile, logVkey, cosignerVkey, ...entries] = process.argv.slice(2);
const note = fs.readFileSync(noteFile, "utf8");
const split = note.lastIndexOf("\n\n");
const text = note.slice(0, split + 1);
const lines = note.slice(split + 2, -1).split("\n");
const sha256 = (b) => crypto.createHash("sha256").update(b).digest();

function parseVkey(vkey, type) {
  const parts = vkey.split("+");
  const name = parts[0], id = parts[1], typed = Buffer.from(parts.slice(2).join("+"), "base64");
  if (typed[0] !== type) throw new Error(`${name}: type ${typed[0]}, want ${type}`);
  const computed = sha256(Buffer.concat([Buffer.from(name + "\n"), typed])).subarray(0, 4);
  if (computed.toString("hex") !== id) throw new Error(`${name}: key ID mismatch`);
  const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), typed.subarray(1)]);
  return { name, id, key: crypto.createPublicKey({ key: spki, format: "der", type: "spki" }) };
}

function line(name) {
  const found = lines.find((l) => l.startsWith("\u2014 " + name + " "));
  if (!found) throw new Error(`no signature line by ${name}`);
  return Buffer.from(found.split(" ")[2], "base64");
}

const log = parseVkey(logVkey, 0x01);
const cosigner = parseVkey(cosignerVkey, 0x04);
const logSig = line(log.name);
if (logSig.subarray(0, 4).toString("hex") !== log.id) throw new Error("log key ID");
if (!crypto.verify(null, Buffer.from(text), log.key, logSig.subarray(4))) throw new Error("log signature");
const cosig = line(cosigner.name);
if (cosig.length !== 4 + 8 + 64) throw new Error("cosignature length");
if (cosig.subarray(0, 4).toString("hex") !== cosigner.id) throw new Error("cosigner key ID");
const time = cosig.readBigUInt64BE(4);
const message = Buffer.from(`cosignature/v1\ntime ${time}\n${text}`);
if (!crypto.verify(null, message, cosigner.key, cosig.subarray(12))) throw new Error("cosignature");

function mth(leaves) {
  if (leaves.length === 0) return sha256(Buffer.alloc(0));
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Buffer.concat([Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k))]));
}
const leaves = entries.map((e) => sha256(Buffer.concat([Buffer.from([0]), Buffer.from(e)])));
const [origin, size, root] = text.split("\n");
if (origin !== log.name || Number(size) !== leaves.length) throw new Error("origin or size");
if (mth(leaves).toString("base64") !== root) throw new Error("root hash");
console.log(`ok ${time}`);
