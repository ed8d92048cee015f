// The whole JS API in Node: events, filters (on a REES46 bundle with a catalog), explanations,
// on-device sessions (track), and errors with stable codes and fields.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine, Session, bundleBytes, catalogBundleBytes, f32, thrown } from "./helpers.mjs";

const plain = new Engine(bundleBytes()); // DIGINETICA: no catalog
const shop = new Engine(catalogBundleBytes()); // REES46 sample: category and price per item
const ids = (response) => response.items.map((i) => i.id);
const history = ["21115", "28626", "37747"]; // a real DIGINETICA test prefix

test("the REES46 bundle has a catalog; the DIGINETICA one has none", () => {
  assert.equal(shop.hasCatalog, true);
  assert.ok(shop.categories().includes("electronics.smartphone"));
  assert.deepEqual(shop.categories(), [...shop.categories()].sort());
  assert.equal(plain.hasCatalog, false);
  assert.deepEqual(plain.categories(), []);
  const top = shop.recommend({ history: [], k: 1 }).items[0].id;
  const info = shop.item(top);
  assert.equal(info.popularity_rank, 1);
  assert.equal(typeof info.category, "string");
  assert.ok(info.price > 0);
  assert.equal(plain.item("no-such-item"), undefined);
  assert.deepEqual(Object.keys(plain.item("21115")).sort(), ["id", "popularity_rank"]);
});

// A REES46 session: the most popular item, then ask for many recommendations.
const shopSession = () => [shop.recommend({ history: [], k: 1 }).items[0].id];

test("a category filter keeps only items in or below the category, and changes the answer", () => {
  const unfiltered = shop.recommend({ history: shopSession(), k: 60 });
  for (const category of ["electronics", "electronics.smartphone", "appliances"]) {
    const inCategory = (id) => {
      const c = shop.item(id).category ?? "";
      return c === category || c.startsWith(`${category}.`);
    };
    assert.ok(unfiltered.items.some((i) => !inCategory(i.id)), `the unfiltered answer already is all ${category}`);
    const filtered = shop.recommend({ history: shopSession(), k: 60, filters: { categories: [category] } });
    assert.ok(filtered.items.length > 0);
    assert.ok(filtered.items.every((i) => inCategory(i.id)), `${category}: ${ids(filtered)}`);
    // What passes the filter keeps its relative order.
    const kept = unfiltered.items.filter((i) => inCategory(i.id)).map((i) => i.id);
    assert.deepEqual(ids(filtered).slice(0, kept.length), kept);
  }
  const two = shop.recommend({ history: [], k: 200, filters: { categories: ["electronics.smartphone", "appliances"] } });
  assert.ok(two.items.some((i) => shop.item(i.id).category === "electronics.smartphone"));
  assert.ok(two.items.some((i) => shop.item(i.id).category.startsWith("appliances")));
});

test("a price range keeps only items priced within it", () => {
  const unfiltered = shop.recommend({ history: shopSession(), k: 100 });
  const price = (i) => shop.item(i.id).price;
  assert.ok(unfiltered.items.some((i) => !(price(i) >= 100 && price(i) <= 300)));
  const filtered = shop.recommend({ history: shopSession(), k: 100, filters: { price: { min: 100, max: 300 } } });
  assert.ok(filtered.items.length > 10);
  assert.ok(filtered.items.every((i) => price(i) >= 100 && price(i) <= 300));
  const cheap = shop.recommend({ history: [], k: 50, filters: { price: { max: 10 } } });
  assert.ok(cheap.items.length > 0 && cheap.items.every((i) => price(i) <= 10));
});

test("exclusions remove exactly the excluded items; availability without data drops nothing", () => {
  const base = plain.recommend({ history, k: 10 });
  const excluded = plain.recommend({ history, k: 10, filters: { exclude: ids(base).slice(0, 3).concat(["not-an-item"]) } });
  assert.deepEqual(ids(excluded).slice(0, 7), ids(base).slice(3));
  // The REES46 export says nothing about stock: documented as "unknown availability is kept".
  const all = shop.recommend({ history: shopSession(), k: 30 });
  assert.deepEqual(shop.recommend({ history: shopSession(), k: 30, filters: { available_only: true } }), all);
});

test("every item is explained by the history items that drove it, or as popular", () => {
  const single = plain.recommend({ history: ["21115"], k: 20 });
  for (const item of single.items.filter((i) => i.source === "covisit")) {
    assert.deepEqual(item.explanation, { signal: "covisit", because: [{ id: "21115", contribution: item.score }] });
  }
  const answer = plain.recommend({ history, k: 200 });
  const covisit = answer.items.filter((i) => i.source === "covisit");
  assert.ok(covisit.some((i) => i.explanation.because.length > 1), "some items have several reasons");
  for (const item of covisit) {
    const because = item.explanation.because;
    assert.ok(because.length >= 1 && because.length <= 3);
    assert.ok(because.every((c) => history.includes(c.id) && c.contribution > 0));
    const sum = because.reduce((s, c) => s + c.contribution, 0);
    // Three distinct history items: every contributor is listed, so they add up to the score.
    assert.ok(Math.abs(sum - item.score) <= 1e-5 * item.score, `${sum} vs ${item.score}`);
    const c = because.map((b) => b.contribution);
    assert.deepEqual(c, [...c].sort((a, b) => b - a));
  }
  const popular = answer.items.filter((i) => i.source === "popular");
  assert.ok(popular.length > 0);
  const ranks = popular.map((i) => i.explanation.popularity_rank);
  assert.ok(popular.every((i) => i.explanation.signal === "popular" && i.explanation.because.length === 0));
  assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b));
  assert.ok(ranks.every((r) => Number.isInteger(r) && r >= 1));
});

test("events: all views equal history; a cart doubles what its item contributes", () => {
  const views = history.map((id) => ({ id, type: "view" }));
  const byHistory = plain.recommend({ history, k: 200 });
  assert.deepEqual(plain.recommend({ events: views, k: 200 }).items, byHistory.items);
  const onlyFirst = byHistory.items.find((i) => i.explanation.because.length === 1 && i.explanation.because[0].id === history[0]);
  assert.ok(onlyFirst, "an item co-visited with the first history item only");
  const carted = plain.recommend({ events: [{ id: history[0], type: "cart" }, ...views.slice(1)], k: 200 });
  const same = carted.items.find((i) => i.id === onlyFirst.id);
  assert.equal(f32(same.score), f32(2 * onlyFirst.score));
  // Timed events are fine in order and refused out of order.
  const t = Date.UTC(2026, 10, 29);
  assert.equal(plain.recommend({ events: views.map((e, i) => ({ ...e, time: t + i })), k: 5 }).items.length, 5);
  assert.deepEqual(thrown(() => plain.recommend({ events: views.map((e, i) => ({ ...e, time: t - i })) })).field, "events[1].time");
});

test("slot and context are echoed; unknown session items are reported", () => {
  const answer = plain.recommend({
    slot: "pdp_similar",
    events: [{ id: "no-such-item", type: "click" }, { id: "21115" }],
    k: 3,
    context: { page: "product", device: "mobile", time: Date.UTC(2026, 10, 29) },
  });
  assert.equal(answer.slot, "pdp_similar");
  assert.deepEqual(answer.context, { page: "product", device: "mobile", time: Date.UTC(2026, 10, 29) });
  assert.deepEqual(answer.ignored, [{ position: 0, id: "no-such-item", reason: "unknown_item" }]);
  assert.equal(plain.recommend({ history: ["21115"], k: 1 }).slot, undefined);
});

test("a tracked session updates the next answer at once, keeps 200 events and round-trips", () => {
  const session = new Session();
  assert.equal(session.length, 0);
  assert.deepEqual(ids(plain.recommendSession(session)), ids(plain.recommend({ history: [], k: 20 })));
  session.track({ id: "21115" });
  const first = plain.recommendSession(session, { k: 5 });
  assert.deepEqual(first, plain.recommend({ history: ["21115"], k: 5 }));
  session.track({ id: "28626", type: "cart", time: 1000 });
  assert.notDeepEqual(ids(plain.recommendSession(session, { k: 5 })), ids(first));
  assert.deepEqual(
    plain.recommendSession(session, { k: 5, slot: "home" }),
    plain.recommend({ events: [{ id: "21115" }, { id: "28626", type: "cart", time: 1000 }], k: 5, slot: "home" }),
  );
  assert.deepEqual(session.events(), [{ id: "21115", type: "view" }, { id: "28626", type: "cart", time: 1000 }]);
  const restored = Session.fromEvents(JSON.parse(JSON.stringify(session.events())));
  assert.deepEqual(plain.recommendSession(restored, { k: 5 }), plain.recommendSession(session, { k: 5 }));

  for (let i = 0; i < 250; i++) session.track({ id: String(i) });
  assert.equal(session.length, 200);
  assert.equal(session.events()[0].id, "50");
  session.clear();
  assert.equal(session.length, 0);
});

test("track refuses bad events and leaves the session unchanged", () => {
  const session = new Session();
  session.track({ id: "1", time: 10 });
  assert.deepEqual(thrown(() => session.track({ id: "2", type: "like" })).field, "type");
  assert.deepEqual(thrown(() => session.track({ id: "2", time: 9 })).field, "time");
  assert.deepEqual(thrown(() => session.track({ id: "" })).field, "id");
  assert.deepEqual(thrown(() => session.track({ id: 2 })).field, "id");
  assert.deepEqual(thrown(() => session.track({ id: "2", weight: 3 })), {
    code: "unknown_field",
    field: "weight",
    message: "unknown field `weight` in request; expected one of `id`, `type`, `time`",
  });
  assert.equal(thrown(() => session.track("2")).code, "invalid_request");
  assert.equal(session.length, 1);
  assert.equal(thrown(() => plain.recommendSession(session, { history: ["1"] })).field, "history");
  assert.equal(thrown(() => plain.recommendSession(session, { k: 0 })).field, "k");
  assert.equal(thrown(() => Session.fromEvents([{ id: "1" }, { id: 2 }])).field, "events[1].id");
  assert.equal(thrown(() => Session.fromEvents({})).code, "invalid_field");
});

test("bad requests throw Errors with a stable code and the field at fault", () => {
  const cases = [
    [{ history: ["1"], events: [] }, "invalid_field", "events"],
    [{ events: [{ id: "1", type: "like" }] }, "invalid_field", "events[0].type"],
    [{ events: [{ type: "view" }] }, "invalid_field", "events[0].id"],
    [{ events: [{ id: "1", at: 3 }] }, "unknown_field", "events[0].at"],
    [{ events: ["1"] }, "invalid_field", "events[0]"],
    [{ history: [], slot: "has space" }, "invalid_field", "slot"],
    [{ history: [], slot: 7 }, "invalid_field", "slot"],
    [{ history: [], filters: { colour: "red" } }, "unknown_field", "filters.colour"],
    [{ history: [], filters: { categories: "electronics" } }, "invalid_field", "filters.categories"],
    [{ history: [], filters: { categories: [] } }, "invalid_field", "filters.categories"],
    [{ history: [], filters: { price: { min: -1 } } }, "invalid_field", "filters.price.min"],
    [{ history: [], filters: { price: { min: 9, max: 1 } } }, "invalid_field", "filters.price"],
    [{ history: [], filters: { price: { cheap: true } } }, "unknown_field", "filters.price.cheap"],
    [{ history: [], filters: { available_only: "yes" } }, "invalid_field", "filters.available_only"],
    [{ history: [], filters: { exclude: "1" } }, "invalid_field", "filters.exclude"],
    [{ history: [], context: { device: "watch" } }, "invalid_field", "context.device"],
    [{ history: [], context: { user: "u1" } }, "unknown_field", "context.user"],
    [{ history: [], context: { time: "now" } }, "invalid_field", "context.time"],
  ];
  for (const [request, code, field] of cases) {
    const e = thrown(() => shop.recommend(request));
    assert.deepEqual([e.code, e.field], [code, field], JSON.stringify(request));
    assert.ok(e.message.includes(field.split(/[.[]/)[0]), e.message);
  }
  const unknown = thrown(() => shop.recommend({ history: [], filters: { categories: ["electronics", "electro"] } }));
  assert.deepEqual([unknown.code, unknown.field], ["unknown_value", "filters.categories[1]"]);
  assert.match(unknown.message, /`electro` is not a category/);
  for (const [filters, field] of [
    [{ categories: ["electronics"] }, "filters.categories"],
    [{ price: { max: 5 } }, "filters.price"],
    [{ available_only: true }, "filters.available_only"],
  ]) {
    const e = thrown(() => plain.recommend({ history, filters }));
    assert.deepEqual([e.code, e.field], ["unsupported_filter", field]);
    assert.match(e.message, /no catalog/);
  }
  assert.equal(thrown(() => plain.recommend([])).code, "invalid_request");
});
