import assert from "node:assert/strict";
import { scoreSubmission } from "./score_submission.ts";

// fixtures/ap: ground truth, submission and the AP computed by an independent Python
// implementation (fixtures/ap/make_ap.py: cv2.fillPoly rasters, numpy IoU, the OpenImages
// matching and AP of the TensorFlow Object Detection API).
const EXPECTED = JSON.parse(await Deno.readTextFile("fixtures/ap/expected.json"));

for (const [key, iouThreshold] of [["iou0.6", 0.6], ["iou0.5", 0.5]] as const) {
  Deno.test(`scoreSubmission: fixtures/ap at IoU ${iouThreshold} equals the Python reference`, async () => {
    const s = await scoreSubmission("fixtures/ap/submission.csv", "fixtures/ap", { iouThreshold });
    const want = EXPECTED[key];
    console.log(`  AP ${s.ap} (python ${want.ap}), difference ${Math.abs(s.ap - want.ap)}`);
    assert.ok(Math.abs(s.ap - want.ap) < 1e-12);
    assert.equal(s.tp, want.tp);
    assert.equal(s.fp, want.fp);
    assert.equal(s.truth, want.truth);
    assert.equal(s.predictions, want.predictions);
    assert.equal(s.tiles, want.tiles);
    assert.deepEqual(s.notAnnotated, EXPECTED.notAnnotated);
    assert.deepEqual(s.notSubmitted, EXPECTED.notSubmitted);
    assert.equal(s.emptyTruth, 0);
  });
}

Deno.test("scoreSubmission: a missing polygons.jsonl is one clear error", async () => {
  await assert.rejects(
    scoreSubmission("fixtures/ap/submission.csv", "fixtures/rle"),
    /fixtures\/rle\/polygons\.jsonl: no such file/,
  );
});
