/** A tiny typed event, shaped like vscode.Event so the VS Code layer can pass it straight through. */
export interface Disposable {
  dispose(): void;
}
export type Listener<T> = (e: T) => void;
export type Event<T> = (listener: Listener<T>) => Disposable;

export class Emitter<T> implements Disposable {
  private listeners = new Set<Listener<T>>();
  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch (e) {
        // A faulty listener must not stop the others (or the emitter's owner).
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
  dispose(): void {
    this.listeners.clear();
  }
}
