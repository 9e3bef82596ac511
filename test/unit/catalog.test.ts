import { describe, expect, it } from 'vitest';
import { CATALOG, CATEGORIES, categoriesInStage, isCategory, STAGES, SWEEP_ORDER, type Category } from '../../shared/domain/catalog.js';

const position = (c: Category): number => SWEEP_ORDER.indexOf(c);

/** Every (child, parent) pair the catalog declares, through `parent` and through `cascadesTo`. */
const relations: readonly [child: Category, parent: Category][] = [
  ...CATEGORIES.flatMap((c): [Category, Category][] => {
    const parent = CATALOG[c].parent;
    return parent === null ? [] : [[c, parent]];
  }),
  ...CATEGORIES.flatMap((parent) => CATALOG[parent].cascadesTo.map((child): [Category, Category] => [child, parent])),
];

describe('category catalog', () => {
  it('defines the sixteen categories of the design and the two communication records of call tracking', () => {
    expect(CATEGORIES).toHaveLength(18);
    expect(new Set(CATEGORIES)).toEqual(
      new Set([
        'call_recording',
        'inbound_media',
        'outbound_media',
        'email_attachment',
        'third_party_call_data',
        'webhook_delivery',
        'call',
        'whatsapp_conversation',
        'conversation',
        'message',
        'communication_log',
        'analytics_event',
        'form_submission',
        'web_session',
        'customer_profile',
        'user',
        'admin_activity_log',
        'account_config',
      ]),
    );
  });

  it('has one definition per category, keyed by its own name', () => {
    for (const c of CATEGORIES) expect(CATALOG[c].category).toBe(c);
    expect(Object.keys(CATALOG).sort()).toEqual([...CATEGORIES].sort());
  });

  it('puts blobs in stage 1, external data in stage 2, records in stage 3 and subjects in stage 4', () => {
    expect(categoriesInStage(1).sort()).toEqual(['call_recording', 'email_attachment', 'inbound_media', 'outbound_media']);
    expect(categoriesInStage(2)).toEqual(['third_party_call_data']);
    expect(categoriesInStage(4).sort()).toEqual(['account_config', 'customer_profile', 'user']);
    expect(categoriesInStage(3)).toHaveLength(18 - 4 - 1 - 3);
  });

  it('stores exactly the stage-1 categories as blobs and the stage-2 category externally', () => {
    for (const c of CATEGORIES) {
      const { store, stage } = CATALOG[c];
      expect(store.kind === 'blob', c).toBe(stage === 1);
      expect(store.kind === 'external', c).toBe(stage === 2);
    }
  });

  it('keeps recordings in the recordings bucket and media under inbound/, outbound/ and email/', () => {
    expect(CATALOG.call_recording.store).toEqual({ kind: 'blob', bucket: 'recordings', prefix: 'recordings' });
    expect(CATALOG.inbound_media.store).toEqual({ kind: 'blob', bucket: 'media', prefix: 'inbound' });
    expect(CATALOG.outbound_media.store).toEqual({ kind: 'blob', bucket: 'media', prefix: 'outbound' });
    expect(CATALOG.email_attachment.store).toEqual({ kind: 'blob', bucket: 'media', prefix: 'email' });
  });

  it('lists every category exactly once in the sweep order', () => {
    expect(SWEEP_ORDER).toHaveLength(CATEGORIES.length);
    expect(new Set(SWEEP_ORDER)).toEqual(new Set(CATEGORIES));
  });

  it('never goes back to an earlier stage along the sweep order', () => {
    const stages = SWEEP_ORDER.map((c) => CATALOG[c].stage);
    for (let i = 1; i < stages.length; i++) expect(stages[i]!).toBeGreaterThanOrEqual(stages[i - 1]!);
    expect(new Set(stages)).toEqual(new Set(STAGES));
  });

  it('processes every parent after its children, by stage or by position within a stage', () => {
    expect(relations.length).toBeGreaterThan(0);
    for (const [child, parent] of relations) {
      const childFirst =
        CATALOG[child].stage < CATALOG[parent].stage ||
        (CATALOG[child].stage === CATALOG[parent].stage && position(child) < position(parent));
      expect(childFirst, `${child} before its parent ${parent}`).toBe(true);
    }
  });

  it('lists each category as a cascade of its declared parent', () => {
    for (const c of CATEGORIES) {
      const parent = CATALOG[c].parent;
      if (parent !== null) expect(CATALOG[parent].cascadesTo, `${parent} cascades to ${c}`).toContain(c);
    }
  });

  it('has no category that is its own ancestor', () => {
    for (const c of CATEGORIES) {
      const seen = new Set<Category>();
      for (let p = CATALOG[c].parent; p !== null; p = CATALOG[p].parent) {
        expect(seen.has(p), `cycle through ${p}`).toBe(false);
        seen.add(p);
      }
    }
  });

  it('starts the clock of recordings and third-party data at the call start', () => {
    expect(CATALOG.call_recording.clockStartsAt).toBe('call_start');
    expect(CATALOG.third_party_call_data.clockStartsAt).toBe('call_start');
    expect(CATALOG.call.clockStartsAt).toBe('call_start');
  });

  it('starts the clock of messages, logs and outbound media at the conversation start', () => {
    for (const c of ['message', 'communication_log', 'outbound_media', 'conversation', 'whatsapp_conversation'] as const) {
      expect(CATALOG[c].clockStartsAt, c).toBe('conversation_start');
    }
  });

  it('recognises category names and nothing else', () => {
    expect(isCategory('call')).toBe(true);
    expect(isCategory('calls')).toBe(false);
    expect(isCategory(undefined)).toBe(false);
  });
});
