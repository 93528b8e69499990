/** Checks shared by the exporters' credential formats; each record adds what its own format refuses. */

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Every credential file holds one value per line: no line breaks or other control characters. */
export function oneLineValueProblem(value: string): string | undefined {
  return CONTROL_CHARACTERS.test(value)
    ? "contains a line break or another control character; the credential file holds one value per line"
    : undefined;
}
