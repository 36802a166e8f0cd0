// A small inventory model: items, stock movements and a report.
export interface Item {
  sku: string;
  name: string;
  price: number;
  tags?: string[];
}

export type Movement = { sku: string; quantity: number; at: Date };

export class Inventory {
  private readonly items = new Map<string, Item>();
  private readonly stock = new Map<string, number>();

  constructor(private readonly currency: string = "EUR") {}

  add(item: Item, quantity = 0): void {
    if (this.items.has(item.sku)) {
      throw new Error(`duplicate sku ${item.sku}`);
    }
    this.items.set(item.sku, item);
    this.stock.set(item.sku, quantity);
  }

  move(movement: Movement): number {
    const current = this.stock.get(movement.sku);
    if (current === undefined) {
      throw new Error(`unknown sku ${movement.sku}`);
    }
    const next = current + movement.quantity;
    if (next < 0) {
      throw new RangeError("stock cannot go below zero");
    }
    this.stock.set(movement.sku, next);
    return next;
  }

  value(): number {
    let total = 0;
    for (const [sku, quantity] of this.stock) {
      const item = this.items.get(sku);
      if (item) {
        total += item.price * quantity;
      }
    }
    return Math.round(total * 100) / 100;
  }

  byTag(tag: string): Item[] {
    return [...this.items.values()].filter((item) => item.tags?.includes(tag) ?? false);
  }

  report(): string {
    const lines: string[] = [];
    const skus = [...this.items.keys()].sort();
    for (const sku of skus) {
      const item = this.items.get(sku)!;
      const quantity = this.stock.get(sku) ?? 0;
      lines.push(`${sku.padEnd(8)} ${item.name.padEnd(20)} ${quantity}`);
    }
    lines.push(`total value: ${this.value()} ${this.currency}`);
    return lines.join("\n");
  }
}

export function parseMovement(line: string): Movement {
  const [sku, quantity, at] = line.split(",").map((part) => part.trim());
  const amount = Number.parseInt(quantity, 10);
  if (!sku || Number.isNaN(amount)) {
    throw new SyntaxError(`bad movement: ${line}`);
  }
  return { sku, quantity: amount, at: at ? new Date(at) : new Date(0) };
}

export async function applyAll(inventory: Inventory, lines: AsyncIterable<string>): Promise<number> {
  let applied = 0;
  for await (const line of lines) {
    if (line.startsWith("#") || line.trim() === "") {
      continue;
    }
    inventory.move(parseMovement(line));
    applied += 1;
  }
  return applied;
}

export const enum Level {
  Low = 1,
  High = 10,
}

export function level(quantity: number): Level | undefined {
  switch (true) {
    case quantity <= Level.Low:
      return Level.Low;
    case quantity >= Level.High:
      return Level.High;
    default:
      return undefined;
  }
}
