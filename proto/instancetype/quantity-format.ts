// A byte count written as Kubernetes writes a BinarySI quantity it made
// (resource.NewQuantity(n, BinarySI).String()): the largest binary suffix that
// divides it exactly, and below 1024 or when none does, the decimal form.

const BINARY = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const DECIMAL = ['k', 'M', 'G', 'T', 'P', 'E'];

export function formatBinaryBytes(n: bigint): string {
  const abs = n < 0n ? -n : n;
  if (abs >= 1024n) {
    for (let i = BINARY.length; i >= 1; i--) {
      const unit = 1n << BigInt(10 * i);
      if (n % unit === 0n) return `${n / unit}${BINARY[i - 1]}`;
    }
  }
  if (n !== 0n) {
    for (let i = DECIMAL.length; i >= 1; i--) {
      const unit = 10n ** BigInt(3 * i);
      if (n % unit === 0n) return `${n / unit}${DECIMAL[i - 1]}`;
    }
  }
  return String(n);
}
