// Interop check: prints the current TOTP code of a base32 secret, computed by the `otplib`
// package (SHA-1, 6 digits, 30-second steps: what authenticator apps use).
//
//   TOTP_SECRET=JBSWY3DPEHPK3PXP... node interop/totp.mjs
//
// TOTP_EPOCH (optional) is the Unix time in seconds to compute the code for instead of now.
// Prints the code and a newline and exits 0, or prints the error and exits 1. Run by
// ../mfa/interop_test.go.
import { generate } from "otplib";

async function main() {
  const secret = process.env.TOTP_SECRET;
  if (!secret) throw new Error("TOTP_SECRET is not set");
  const options = { secret, algorithm: "sha1", digits: 6, period: 30 };
  if (process.env.TOTP_EPOCH) {
    const epoch = Number(process.env.TOTP_EPOCH);
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error("TOTP_EPOCH is not a Unix time in seconds");
    options.epoch = epoch;
  }
  const code = await generate(options);
  process.stdout.write(code + "\n");
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
