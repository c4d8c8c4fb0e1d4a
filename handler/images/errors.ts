import { VirtnodeError } from '../../proto/errors.js';

/**
 * A pull that failed. `image` and `step` let the handler set the VMI's reason
 * (KubeVirt reports ErrImagePull) without parsing the message.
 */
export class ImagePullError extends VirtnodeError {
  readonly image: string;
  readonly step: string;
  constructor(image: string, step: string, detail: string, options?: { cause?: unknown }) {
    super('VN_IMAGE', `pull ${image}: ${step}: ${detail}`, options);
    this.image = image;
    this.step = step;
  }
}

export interface Attempt {
  endpoint: string;
  detail: string;
}

/** One error for a step that failed on every endpoint tried, naming each. */
export function attemptsError(image: string, step: string, attempts: Attempt[], cause?: unknown): ImagePullError {
  const detail = attempts.length === 1
    ? `${attempts[0]!.detail} (from ${attempts[0]!.endpoint})`
    : `every endpoint failed: ${attempts.map((a) => `${a.endpoint}: ${a.detail}`).join('; ')}`;
  return new ImagePullError(image, step, detail, { cause });
}

/** "sha256:0123456789ab" — enough to tell layers apart in a message. */
export function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}
