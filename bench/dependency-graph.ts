/**
 * The resource dependency graph of a Pulumi program run under mocks, read from the requests the
 * SDK sends the (mock) engine: each registration's parent, provider, `dependsOn` and the implicit
 * dependencies of its Output inputs (propertyDependencies). The engine orders creation along
 * these edges, so the longest chain is the number of steps `pulumi up` cannot run in parallel.
 *
 * Hooked at MockMonitor.prototype.registerResource, so test/support/pulumi-mocks.ts stays as is.
 */
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): {
    forEach(callback: (value: { getUrnsList(): string[] }, key: string) => void): void;
  };
}

interface RegisterResponse {
  getUrn(): string;
}

export interface RegisteredNode {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** URNs this resource waits for: parent, provider, dependsOn, Output inputs. */
  readonly edges: ReadonlySet<string>;
}

const STACK_TYPE = "pulumi:pulumi:Stack";

/** `urn::id` provider reference -> the provider's URN. */
function providerUrn(reference: string): string | undefined {
  if (reference === "") return undefined;
  const cut = reference.lastIndexOf("::");
  return cut > 0 ? reference.slice(0, cut) : undefined;
}

export class DependencyRecorder {
  private readonly nodes = new Map<string, RegisteredNode>();
  private restore?: () => void;

  /** Starts recording every registration (of any mock monitor) until `stop`. */
  start(): void {
    const prototype = MockMonitor.prototype as unknown as {
      registerResource(
        request: RegisterRequest,
        callback: (error: unknown, response?: RegisterResponse) => void,
      ): Promise<void>;
    };
    const original = prototype.registerResource;
    const nodes = this.nodes;
    prototype.registerResource = function (this: unknown, request, callback) {
      const edges = new Set<string>();
      if (request.getParent()) edges.add(request.getParent());
      const provider = providerUrn(request.getProvider());
      if (provider) edges.add(provider);
      for (const urn of request.getDependenciesList()) edges.add(urn);
      request.getPropertydependenciesMap().forEach((dependencies) => {
        for (const urn of dependencies.getUrnsList()) edges.add(urn);
      });
      return original.call(this, request, (error, response) => {
        if (!error && response) {
          const urn = response.getUrn();
          nodes.set(urn, { urn, type: request.getType(), name: request.getName(), edges });
        }
        callback(error, response);
      });
    };
    this.restore = () => {
      prototype.registerResource = original;
    };
  }

  stop(): void {
    this.restore?.();
    this.restore = undefined;
  }

  clear(): void {
    this.nodes.clear();
  }

  /** Registered resources (components and custom), the stack itself left out. */
  get resources(): RegisteredNode[] {
    return [...this.nodes.values()].filter((node) => node.type !== STACK_TYPE);
  }

  /** The longest chain of resources each waiting for the next, longest first-to-last. */
  longestChain(): RegisteredNode[] {
    const memo = new Map<string, RegisteredNode[]>();
    const visiting = new Set<string>();
    const chainFrom = (node: RegisteredNode): RegisteredNode[] => {
      const known = memo.get(node.urn);
      if (known) return known;
      if (visiting.has(node.urn)) throw new Error(`dependency cycle through ${node.urn}`);
      visiting.add(node.urn);
      let best: RegisteredNode[] = [];
      for (const edge of node.edges) {
        const next = this.nodes.get(edge);
        if (!next || next.type === STACK_TYPE) continue;
        const chain = chainFrom(next);
        if (chain.length > best.length) best = chain;
      }
      visiting.delete(node.urn);
      const chain = [node, ...best];
      memo.set(node.urn, chain);
      return chain;
    };
    let longest: RegisteredNode[] = [];
    for (const node of this.resources) {
      const chain = chainFrom(node);
      if (chain.length > longest.length) longest = chain;
    }
    return longest;
  }
}
