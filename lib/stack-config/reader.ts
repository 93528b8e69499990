/**
 * The settings reader: coerces raw values by the settings table (type, default, bounds) and
 * collects problems instead of throwing at the first one, so one run reports them all.
 */
import {
  type ConfigCommand,
  type ConfigProblem,
  type ConfigWarning,
  fixLine,
  mapKeyPath,
  pathRmCommand,
  pathSetCommand,
  qualify,
  rmCommand,
  setCommand,
  writeValueCommands,
} from "./problems";
import { type DurationSetting, type IntegerSetting, type SettingSpec, settingSpec } from "./setting-spec";
import { closestName, describe, formatDuration, isPlainObject, parsePrometheusDuration } from "./values";

/** A parsed duration: the text as written and its length. */
export interface Duration {
  readonly text: string;
  readonly ms: number;
}

export class SettingsReader {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: ConfigWarning[] = [];
  /**
   * True for `pulumi up` of a production stack: a documentation placeholder is then a problem,
   * not a warning (previews keep warning, so CI previews of the shipped stack files still work).
   */
  refusePlaceholders = false;
  /** Keys whose value had the wrong type (reported once; later checks skip them). */
  private readonly wrongType = new Set<string>();

  /**
   * @param values setting values by key: project keys without namespace (`scrapeInterval`),
   *   provider keys with it (`aws:region`). Strings as Pulumi stores them, or parsed values.
   */
  constructor(
    private readonly values: Readonly<Record<string, unknown>>,
    readonly table: readonly SettingSpec[],
  ) {}

  report(setting: string, problem: string, fix: readonly ConfigCommand[]): void {
    this.problems.push({ setting: qualify(setting), problem, fix: fixLine(fix) });
  }

  warn(setting: string, warning: string, fix?: readonly ConfigCommand[]): void {
    this.warnings.push({ setting: qualify(setting), warning, ...(fix ? { fix: fixLine(fix) } : {}) });
  }

  /** A documentation placeholder left in a setting: a warning, or a problem when refusePlaceholders. */
  placeholder(setting: string, warning: string, fix: readonly ConfigCommand[]): void {
    if (this.refusePlaceholders) {
      this.report(
        setting,
        `${warning}; pulumi up of a production stack (production: true) refuses documentation placeholders (preview only warns)`,
        fix,
      );
    } else {
      this.warn(setting, warning, fix);
    }
  }

  /** True when the key's value had the wrong type: already reported, so say nothing more of it. */
  invalid(key: string): boolean {
    return this.wrongType.has(key);
  }

  /** Marks a key whose value cannot be used (reported elsewhere): every read of it gives undefined. */
  markInvalid(key: string): void {
    this.wrongType.add(key);
  }

  /**
   * Visits the items of a list and files each item's problems as a block, last item first: the
   * fixes of one list, pasted in the order printed, then find their item where the line says,
   * since removing an item shifts only those after it.
   */
  eachLastFirst<T>(items: readonly T[], visit: (item: T, index: number) => void): void {
    const blocks: ConfigProblem[][] = [];
    items.forEach((item, index) => {
      const before = this.problems.length;
      visit(item, index);
      blocks.push(this.problems.splice(before));
    });
    for (const block of blocks.reverse()) this.problems.push(...block);
  }

  spec(key: string): SettingSpec {
    return settingSpec(this.table, key);
  }

  /** True when the stack sets the key at all, even to an empty value. */
  has(key: string): boolean {
    return Object.hasOwn(this.values, key);
  }

  /** Raw value, with "" and null treated as unset (Pulumi.yaml declares optional strings as ""). */
  raw(key: string): unknown {
    if (this.wrongType.has(key)) return undefined;
    const value = this.values[key];
    return value === "" || value === null ? undefined : value;
  }

  /** A string setting: the trimmed value, else the table's default (undefined when it has none). */
  string(key: string): string | undefined {
    if (this.wrongType.has(key)) return undefined;
    const spec = this.spec(key);
    const value = this.raw(key);
    if (value === undefined) {
      return spec.type === "string" || spec.type === "choice" || spec.type === "duration"
        ? spec.default
        : undefined;
    }
    if (typeof value === "string") return value.trim();
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    this.wrongType.add(key);
    this.report(key, `must be a string, got ${describe(value)}`, [setCommand(key)]);
    return undefined;
  }

  /**
   * A string setting the situation requires: reported as required (with `why`) when unset; a
   * value of the wrong type is reported once, as such.
   */
  requiredString(key: string, why: string): string | undefined {
    const value = this.string(key);
    if (value === undefined && !this.invalid(key)) this.report(key, `is required ${why}`, [setCommand(key)]);
    return value;
  }

  /** One of the table's choices; a typo gets the closest choice as its fix. */
  choice(key: string): string | undefined {
    const spec = this.spec(key);
    if (spec.type !== "choice") throw new Error(`${key} is not a choice setting`);
    const text = this.string(key);
    if (text === undefined) return undefined;
    if (spec.choices.includes(text)) return text;
    const suggestion = closestName(text, spec.choices);
    this.report(
      key,
      `"${text}" is not one of ${spec.choices.join(", ")}${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
      [setCommand(key, suggestion ?? spec.default)],
    );
    return undefined;
  }

  integer(key: string): number | undefined {
    const spec = this.spec(key) as IntegerSetting;
    const value = this.raw(key);
    if (value === undefined) return spec.default;
    const parsed = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof parsed !== "number" || !Number.isInteger(parsed)) {
      this.wrongType.add(key);
      this.report(key, `must be a whole number, got ${describe(value)}`, [setCommand(key)]);
      return undefined;
    }
    if (parsed < spec.min || parsed > spec.max) {
      const nearest = parsed < spec.min ? spec.min : spec.max;
      this.report(key, `must be from ${spec.min} to ${spec.max}, got ${parsed}`, [
        setCommand(key, String(nearest)),
      ]);
      return undefined;
    }
    return parsed;
  }

  boolean(key: string): boolean | undefined {
    const spec = this.spec(key);
    const fallback = spec.type === "boolean" ? spec.default : false;
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    this.wrongType.add(key);
    this.report(key, `must be true or false, got ${describe(value)}`, [setCommand(key, String(fallback))]);
    return undefined;
  }

  duration(key: string): Duration | undefined {
    const spec = this.spec(key) as DurationSetting;
    const text = this.string(key);
    if (text === undefined) return undefined;
    const ms = parsePrometheusDuration(text);
    if (ms === undefined) {
      this.report(
        key,
        `"${text}" is not a Prometheus duration (units y w d h m s ms, largest first, e.g. 30s, 1h30m, 15d)`,
        [setCommand(key, spec.example)],
      );
      return undefined;
    }
    const min = parsePrometheusDuration(spec.min) as number;
    const max = parsePrometheusDuration(spec.max) as number;
    if (ms < min || ms > max) {
      const why = spec.boundsReason ? ` (${spec.boundsReason})` : "";
      this.report(key, `"${text}" is out of range: it must be from ${spec.min} to ${spec.max}${why}`, [
        setCommand(key, formatDuration(ms < min ? min : max)),
      ]);
      return undefined;
    }
    return { text, ms };
  }

  /**
   * A structured value: accepts parsed data or the JSON text Pulumi stores. Undefined when unset
   * or wrong (then reported). A plain string where a list is expected becomes the list's first
   * item in the fix (`itemField` names the field it goes into, for lists of maps), so the typed
   * value is kept.
   */
  structured(key: string, expect: "array" | "object", itemField?: string): unknown {
    let value = this.raw(key);
    if (value === undefined) return undefined;
    const shape = expect === "array" ? "a list" : "a map";
    const keepTyped = (text: string): ConfigCommand[] =>
      expect === "array"
        ? [rmCommand(key), pathSetCommand(itemField ? `${key}[0].${itemField}` : `${key}[0]`, text)]
        : [rmCommand(key)];
    const howTo =
      expect === "array"
        ? ""
        : ` (set each entry with: pulumi config set --path '${qualify(key)}.<name>' <value>)`;
    if (typeof value === "string") {
      const text = value;
      try {
        value = JSON.parse(text);
      } catch {
        this.wrongType.add(key);
        this.report(key, `must be ${shape}, got the plain string ${describe(text)}${howTo}`, keepTyped(text));
        return undefined;
      }
    }
    if (expect === "array" ? !Array.isArray(value) : !isPlainObject(value)) {
      this.wrongType.add(key);
      const typed = typeof value === "number" || typeof value === "boolean" ? String(value) : undefined;
      this.report(
        key,
        `must be ${shape}, got ${describe(value)}${howTo}`,
        typed !== undefined ? keepTyped(typed) : [rmCommand(key)],
      );
      return undefined;
    }
    return value;
  }

  /** A list of non-empty strings, trimmed; [] when unset. */
  list(key: string): string[] | undefined {
    const value = this.structured(key, "array");
    if (value === undefined) return this.invalid(key) || this.raw(key) !== undefined ? undefined : [];
    const items: string[] = [];
    let ok = true;
    this.eachLastFirst(value as unknown[], (item, index) => {
      const path = `${key}[${index}]`;
      if ((typeof item === "string" && item.trim() !== "") || typeof item === "number") {
        items.push(String(item).trim());
      } else {
        ok = false;
        this.report(path, `must be a non-empty string, got ${describe(item)}`, [pathSetCommand(path)]);
      }
    });
    return ok ? items : undefined;
  }

  /**
   * Reports fields of a map entry the reader does not know. A likely typo keeps the value the
   * operator typed under the right name; otherwise the fix removes the field.
   */
  unknownFields(path: string, item: Readonly<Record<string, unknown>>, known: readonly string[]): boolean {
    let ok = true;
    for (const [field, value] of Object.entries(item)) {
      if (known.includes(field)) continue;
      ok = false;
      const suggestion = closestName(field, known);
      const movable = suggestion !== undefined && !Object.hasOwn(item, suggestion);
      const fieldPath = mapKeyPath(path, field);
      const fix: ConfigCommand[] = [pathRmCommand(fieldPath)];
      if (movable) fix.push(...writeValueCommands(`${path}.${suggestion}`, value));
      this.report(
        fieldPath,
        `is not a known field${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; known fields: ${known.join(", ")}`,
        fix,
      );
    }
    return ok;
  }
}
