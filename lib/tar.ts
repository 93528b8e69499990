/**
 * A byte-for-byte reproducible tar archive (POSIX ustar) of text files: the same files give the
 * same bytes whatever the order they were given in, on any machine, at any time (entries sorted by
 * path, mtime 0, owner root, mode 0644, directories implied by the paths). GNU and BSD tar read it.
 */

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 digits, then a NUL terminator.
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(path: string, size: number): Buffer {
  const name = Buffer.from(path, "utf8");
  if (name.length > 100) throw new Error(`tar: path ${path} is longer than 100 bytes`);
  const block = Buffer.alloc(BLOCK, 0);
  name.copy(block, 0);
  block.write(octal(0o644, 8), 100, "ascii"); // mode
  block.write(octal(0, 8), 108, "ascii"); // uid
  block.write(octal(0, 8), 116, "ascii"); // gid
  block.write(octal(size, 12), 124, "ascii"); // size
  block.write(octal(0, 12), 136, "ascii"); // mtime
  block.write("        ", 148, "ascii"); // checksum placeholder: eight spaces
  block.write("0", 156, "ascii"); // regular file
  block.write("ustar\0", 257, "ascii");
  block.write("00", 263, "ascii");
  block.write("root", 265, "ascii");
  block.write("root", 297, "ascii");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return block;
}

const RELATIVE_PATH = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*$/;

/** The archive of `files` (relative path -> UTF-8 content). */
export function tarArchive(files: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  for (const path of Object.keys(files).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!RELATIVE_PATH.test(path) || path.split("/").some((part) => part === "." || part === "..")) {
      throw new Error(`tar: ${JSON.stringify(path)} is not a plain relative path`);
    }
    const content = Buffer.from(files[path] as string, "utf8");
    parts.push(header(path, content.length), content);
    const padding = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (padding > 0) parts.push(Buffer.alloc(padding, 0));
  }
  // Two zero blocks end the archive.
  parts.push(Buffer.alloc(2 * BLOCK, 0));
  return Buffer.concat(parts);
}
