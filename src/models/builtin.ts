/** Loads every built-in model file, each of which registers itself with the registry. */
import './abmil';
import './clam';
import './dsmil';
import './pooling';
import './transmil';
import './imageMil'; // convolutional instance encoder + any model above (Ilse et al.'s image experiments)
import '../mhim/register'; // MHIM wraps the models above; registered so createModel('mhim') works everywhere
// Instance-level methods of the deep-MIL catalogue (issue 9)
import './adaptivePooling';
import './certaintyPooling';
import './powerPooling';
import './mivae';
import './causalMil';
import './additiveMil';
import './millet';
import './mirel';
import './focusMil';
// Bag-level methods of the deep-MIL catalogue (issue 9)
import './dpMinn';
import './gnnMil';
import './lossAttention';
import './saAbmilp';
import './dtfdMil';
import './ibmil';
import './dasMil';
import './extremeMil';
import './r2tMil';
