/**
 * A small slice of Fashion-MNIST, put into a test server's store under the built-in name
 * `fashion-mnist` before it is imported, so `importDataset(name: "fashion-mnist")` finds it there and
 * the tests get real 28×28 images without importing all 70,000.
 */
import { loadFashionMnist } from "../../src/data/fashion_mnist.ts";
import { DatasetStore } from "../../src/data/store.ts";

/** Writes the first `train` training and `test` test samples into `<dataDir>/datasets/fashion-mnist`. */
export async function putFashionSlice(dataDir: string, train: number, test: number): Promise<void> {
  const full = await loadFashionMnist();
  const per = 28 * 28;
  const cut = (s: { features: Float32Array; labels: Uint32Array }, n: number) => ({
    features: s.features.slice(0, n * per),
    labels: s.labels.slice(0, n),
  });
  await new DatasetStore(dataDir).put("fashion-mnist", {
    ...full,
    train: cut(full.train, train),
    test: full.test ? cut(full.test, test) : undefined,
    source: `${full.source} (first ${train} train, ${test} test)`,
  });
}
