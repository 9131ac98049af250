/** Loads every built-in model file, each of which registers itself with the registry. */
import './abmil';
import './clam';
import './dsmil';
import './pooling';
import './transmil';
import '../mhim/register'; // MHIM wraps the models above; registered so createModel('mhim') works everywhere
