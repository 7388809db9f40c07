/** What a correction changed (domain/changes.ts): field paths as validation problems name them, never values. */
import { changedPaths, withinFields } from '../domain/changes';
import { sampleApplication as sample } from './helpers/fixtures';

describe('changedPaths', () => {
  it('names nothing for an equal application', () => {
    expect(changedPaths(sample(), sample())).toEqual([]);
  });

  it('names each changed leaf by its path, records in lists by index, a list of values as one field', () => {
    const after = sample();
    after.company.district = '360102';
    after.company.address = '八一大道1号';
    after.company.businessScope = [...after.company.businessScope].reverse();
    after.people.shareholders[1]!.idNumber = '360102199003071236';
    delete after.applicant.email;
    expect(changedPaths(sample(), after)).toEqual([
      'applicant.email',
      'company.address',
      'company.businessScope',
      'company.district',
      'people.shareholders[1].idNumber',
    ]);
  });

  it('names an added or removed record of a list by its index', () => {
    const after = sample();
    after.people.shareholders.pop();
    expect(changedPaths(sample(), after)).toEqual(['people.shareholders[1]']);
  });
});

describe('withinFields', () => {
  it('takes a field, its parts and a field holding it, not a field that only starts alike', () => {
    expect(withinFields('company.address', ['company.address'])).toBe(true);
    expect(withinFields('people.shareholders[1].idNumber', ['people.shareholders'])).toBe(true);
    expect(withinFields('company.district', ['company'])).toBe(true);
    expect(withinFields('company.addressLine', ['company.address'])).toBe(false);
    expect(withinFields('company.name', [])).toBe(false);
    // A list of values changes as one field; the review asked for one of its items.
    expect(withinFields('company.businessScope', ['company.businessScope[1]'])).toBe(true);
    expect(withinFields('company.business', ['company.businessScope[1]'])).toBe(false);
  });
});
