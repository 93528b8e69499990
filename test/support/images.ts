/**
 * What "pinned" means for an image reference, for the tests that hold every rendered image to it.
 */
const EXACT_VERSION_TAG = /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * True when the reference names one exact release: a full x.y.z tag (optionally with a
 * pre-release/build suffix) or a content digest. `latest`, `3`, `3.7` and untagged are not.
 */
export function isPinnedImage(reference: string): boolean {
  const atSign = reference.indexOf("@");
  if (atSign >= 0) {
    return DIGEST.test(reference.slice(atSign + 1));
  }
  const lastPathSegment = reference.slice(reference.lastIndexOf("/") + 1);
  const colon = lastPathSegment.lastIndexOf(":");
  if (colon < 0) return false;
  return EXACT_VERSION_TAG.test(lastPathSegment.slice(colon + 1));
}
