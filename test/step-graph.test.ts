import { dependentsOf, readySteps, STEPS, topologicalOrder, type StepDefinition, type StepId } from '../domain/steps';

describe('the step graph', () => {
  it('has the eight steps of the product brief', () => {
    expect(STEPS.map((s) => s.id)).toEqual(['name', 'license', 'seal', 'tax', 'social', 'fund', 'bank', 'archive']);
  });

  it('runs seal, tax, social and fund in parallel once the license is done', () => {
    const done = new Set<StepId>(['name', 'license']);
    expect(readySteps(done, done).sort()).toEqual(['fund', 'seal', 'social', 'tax']);
  });

  it('holds the bank back until the seals are filed', () => {
    const done = new Set<StepId>(['name', 'license', 'tax', 'social', 'fund']);
    const started = new Set<StepId>([...done, 'seal']);
    expect(readySteps(done, started)).toEqual([]);
    done.add('seal');
    expect(readySteps(done, started)).toEqual(['bank']);
  });

  it('archives last, after every other step', () => {
    const order = topologicalOrder();
    expect(order[order.length - 1]).toBe('archive');
    expect(dependentsOf('seal').sort()).toEqual(['archive', 'bank']);
  });

  it('refuses a cycle or an unknown step', () => {
    const cyclic: StepDefinition[] = STEPS.map((s) => (s.id === 'name' ? { ...s, needs: ['archive'] } : s));
    expect(() => topologicalOrder(cyclic)).toThrow(/cycle/);
    const unknown: StepDefinition[] = [{ ...STEPS[0]!, needs: ['nope' as StepId] }];
    expect(() => topologicalOrder(unknown)).toThrow(/unknown step/);
  });
});
