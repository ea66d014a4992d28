// egg-bin loads this first: keep every test's mocks from leaking into the next one.
import mm from 'egg-mock';

afterEach(mm.restore);
